using Wattstream.Streaming.Access;

namespace Wattstream.Streaming.Formats;

/// <summary>
/// The payload formats the wire families registered, for transports that let the client choose one (<c>/ws</c>).
/// The first registered as default answers when a client names none.
/// </summary>
public sealed class PayloadFormats
{
    private readonly PayloadFormat[] _formats;
    private readonly Dictionary<PayloadFormat, Func<TelemetryScope, PayloadFormat>> _perScope = [];

    public PayloadFormats(IEnumerable<PayloadFormatRegistration> registrations)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        var all = registrations.ToArray();
        _formats = all.Select(r => r.Format).ToArray();
        foreach (var registration in all)
        {
            if (registration.ForScope is { } forScope)
            {
                _perScope[registration.Format] = forScope;
            }
        }

        Default = all.FirstOrDefault(r => r.IsDefault)?.Format ?? _formats.FirstOrDefault()
            ?? throw new InvalidOperationException("No wire family registered a payload format.");
    }

    public IReadOnlyList<PayloadFormat> All => _formats;

    public PayloadFormat Default { get; }

    /// <summary>The format named <paramref name="name"/>; null or empty is the default; an unknown name is null.</summary>
    public PayloadFormat? Find(string? name) =>
        string.IsNullOrEmpty(name) ? Default : Array.Find(_formats, f => f.Id.Name == name);

    /// <summary>The variant of <paramref name="format"/> a caller of <paramref name="scope"/> gets (the format itself unless it varies by scope).</summary>
    public PayloadFormat ForScope(PayloadFormat format, TelemetryScope scope)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(scope);
        return _perScope.TryGetValue(format, out var forScope) ? forScope(scope) : format;
    }
}

/// <summary>
/// A payload format a wire family offers to transports that let the client choose; <paramref name="ForScope"/> gives the
/// variant a caller's scope gets when the payload depends on what the caller sees (DERSim's device index).
/// </summary>
public sealed record PayloadFormatRegistration(PayloadFormat Format, bool IsDefault = false, Func<TelemetryScope, PayloadFormat>? ForScope = null);
