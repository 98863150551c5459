using Wattstream.Telemetry;

namespace Wattstream.Hub;

/// <summary>
/// Cluster mode's shared, ordered log of readings (JetStream): readings made on any node are appended to it, and every
/// node's hub takes its events from it (<see cref="TelemetryHub.Deliver"/>), so all nodes see the same events in the
/// same order under the same ids. Attached with <see cref="TelemetryHub.AttachLog"/>.
/// </summary>
public interface IReadingLog
{
    /// <summary>Hands a reading over without waiting (sources, the simulator); it is sent when the log can take it.</summary>
    void Append(Reading reading);

    /// <summary>Appends and waits for the log's answer: accepted with its sequence, or a duplicate of one it holds.</summary>
    ValueTask<PublishResult> AppendAsync(Reading reading, CancellationToken cancellationToken = default);

    /// <summary>The sequence of the newest reading the log holds now (0 while it holds none).</summary>
    ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default);
}
