namespace Wattstream.Server.Endpoints.Ingest;

/// <summary>The answer to <c>POST /api/readings</c>: each reading's event id, or its index among the duplicates or the rejected.</summary>
public sealed record AcceptedReading(int Index, string EventId, string Subject);

public sealed record PushResponse(AcceptedReading[] Accepted, int[] Duplicates, RejectedReading[]? Rejected = null);

public sealed record RejectedReading(int Index, string Reason);
