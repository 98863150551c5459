using Wattstream.Telemetry;

namespace Wattstream.Hub.Status;

/// <summary>
/// The status of one DER at one moment. <see cref="Version"/> increases with every change on the board; <see cref="Since"/>
/// is when the status last changed.
/// </summary>
public sealed record DerStatus(DerAddress Der, DerType Type, ConnectionStatus Status, DateTimeOffset? LastSeen, string? Detail, long Version, DateTimeOffset? Since = null);
