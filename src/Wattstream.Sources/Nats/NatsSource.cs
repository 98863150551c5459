using NATS.Client.Core;
using Wattstream.Nats;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Sources.Nats;

/// <summary>
/// NATS subjects as a source (<c>Kind=nats</c>): Novacore-shaped readings on <c>orgs.….telemetry.json.v1</c> from other
/// publishers (the address comes from the subject), or gateway subjects
/// <c>gateways.{serial}.devices.{device}.ders.{type}.telemetry.json.v1</c> whose serial maps to an org and site
/// (<c>Sources:N:Gateways:{serial}=org/site</c>). A malformed message is counted and skipped; a hub's own messages
/// (its origin header) are skipped, so a hub that publishes and reads the same subjects does not read itself.
/// </summary>
public sealed class NatsSource(SourceOptions options, SourceContext context) : TelemetrySource(options, context)
{
    private string Subject => string.IsNullOrWhiteSpace(Options.Subject) ? NatsSubjects.AllTelemetry : Options.Subject;

    protected override async Task ReadAsync(SourceSession session, CancellationToken cancellationToken)
    {
        await using var connection = NatsConnections.Create(
            Options.Url!.ToString().TrimEnd('/'),
            $"wattstream-source-{Options.Id}",
            new NatsCredentials(Options.User, Options.Password, Options.Token, Options.CredsFile, Options.NKeySeedFile),
            Context.LoggerFactory,
            retryOnInitialConnect: false); // the source's own backoff retries
        try
        {
            await connection.ConnectAsync();
        }
        catch (NatsException e) when (e.Message.Contains("Authorization", StringComparison.OrdinalIgnoreCase) || e.InnerException?.Message.Contains("Authorization", StringComparison.OrdinalIgnoreCase) == true)
        {
            throw new SourceAuthenticationException("the NATS server refused the credentials");
        }
        catch (NatsException e)
        {
            throw new IOException($"NATS: {e.Message}", e);
        }

        session.Connected();
        // A quiet subject is not a dead connection: the connection's own pings keep the watchdog fed while it is open.
        using var keepAlive = new PeriodicTimer(TimeSpan.FromSeconds(1), Context.Time);
        var watch = Task.Run(
            async () =>
            {
                while (await keepAlive.WaitForNextTickAsync(cancellationToken))
                {
                    if (connection.ConnectionState == NatsConnectionState.Open)
                    {
                        session.KeepAlive();
                    }
                }
            },
            CancellationToken.None);
        // Read once the hub has started, not when the source is made: a store's start may set the hub's epoch (ContinueAt).
        var own = Context.Hub.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            await foreach (var message in connection.SubscribeAsync<byte[]>(Subject, cancellationToken: cancellationToken))
            {
                if (message.Headers?.TryGetValue(NatsSubjects.OriginHeader, out var origin) == true
                    && (origin.ToString() == own || Context.Hub.Log is not null))
                {
                    continue; // this hub published it, or (cluster mode) a node did, into the stream every node reads
                }

                session.Touch(Context.Time.GetUtcNow());
                State.AddBytes(message.Data?.Length ?? 0);
                if (Parse(message.Subject, message.Data) is { } reading)
                {
                    session.Publish(reading);
                }
            }
        }
        catch (NatsException e)
        {
            throw new IOException($"NATS: {e.Message}", e);
        }
        finally
        {
            keepAlive.Dispose();
            await watch.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private Reading? Parse(string subject, byte[]? data)
    {
        if (AddressOf(subject) is not { } der)
        {
            Reject("unknown_subject", $"'{Excerpt.Of(subject, 120)}' is neither orgs.….telemetry.json.v1 nor a configured gateway's subject");
            return null;
        }

        if (data is null || data.Length == 0)
        {
            Reject("malformed", "an empty message");
            return null;
        }

        if (data.Length > Context.Timing.MaxEventBytes)
        {
            Reject("oversized", $"a message of {data.Length} bytes (at most {Context.Timing.MaxEventBytes})");
            return null;
        }

        try
        {
            return NovacoreReading.Parse(data, der);
        }
        catch (TelemetryFormatException e)
        {
            Reject("malformed", e.Message);
            return null;
        }
    }

    // orgs.{org}.sites.{site}.devices.{device}.ders.{der}.telemetry.json.v1, or
    // gateways.{serial}.devices.{device}.ders.{type}.telemetry.json.v1 with the serial's org and site.
    private DerAddress? AddressOf(string subject)
    {
        if (NatsSubjects.TelemetryAddress(subject) is { } telemetry)
        {
            return telemetry;
        }

        if (subject.Split('.') is ["gateways", var serial, "devices", var gatewayDevice, "ders", var type, "telemetry", "json", "v1"]
            && Options.Gateways.TryGetValue(serial, out var place) && place.Split('/') is [var gatewayOrg, var gatewaySite])
        {
            return DerAddress.TryCreate(gatewayOrg, gatewaySite, gatewayDevice, type, out var address) ? address : null;
        }

        return null;
    }
}
