using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Wattstream.Telemetry;
using Wattstream.Telemetry.Formats;

namespace Wattstream.Sources.DerSim;

/// <summary>
/// Reads a DER simulator's telemetry WebSocket. Each payload's <c>device_index</c> names the DER
/// (<c>{der}-{index}</c>); its <c>asset_type</c> gives the reading type.
/// </summary>
public sealed class DerSimSource(SourceOptions options, SourceContext context) : TelemetrySource(options, context)
{
    private readonly Dictionary<int, DerAddress> _ders = [];

    protected override async Task ReadAsync(SourceSession session, CancellationToken cancellationToken)
    {
        var builder = new UriBuilder(new Uri(Options.Url!, "/api/dersim/ws/telemetry"))
        {
            Scheme = Options.Url!.Scheme == "https" ? "wss" : "ws",
            Query = Options.DeviceIndex is { } device ? $"device={device.ToString(CultureInfo.InvariantCulture)}" : "",
        };
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(builder.Uri, cancellationToken);
        session.Connected();
        var max = Context.Timing.MaxEventBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                var oversized = false;
                ValueWebSocketReceiveResult result;
                do
                {
                    // Past the limit the rest of the message is read into the same place and thrown away.
                    var room = oversized ? buffer.AsMemory(0, Math.Min(max, 64 * 1024)) : buffer.AsMemory(length, max - length);
                    result = await socket.ReceiveAsync(room, cancellationToken);
                    if (!oversized)
                    {
                        length += result.Count;
                        oversized = length == max && !result.EndOfMessage;
                    }

                    State.AddBytes(result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var now = Context.Time.GetUtcNow();
                session.Touch(now);
                if (oversized)
                {
                    Reject("oversized", $"a message longer than {max} bytes was dropped");
                    continue;
                }

                Handle(buffer.AsSpan(0, length), now, session);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Handle(ReadOnlySpan<byte> json, DateTimeOffset now, SourceSession session)
    {
        int index;
        try
        {
            index = DeviceIndex(json);
        }
        catch (JsonException e)
        {
            Reject("malformed", $"malformed JSON: {e.Message}");
            return;
        }

        if (!_ders.TryGetValue(index, out var der))
        {
            der = new DerAddress(Options.Org, Options.Site, Options.DeviceId, $"{Options.DerId}-{index.ToString(CultureInfo.InvariantCulture)}");
            _ders[index] = der;
        }

        try
        {
            session.Publish(DerSimOverview.Parse(json, der, now.ToUnixTimeMilliseconds()));
        }
        catch (TelemetryFormatException e)
        {
            Reject("malformed", e.Message);
        }
    }

    private static int DeviceIndex(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("device_index"))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var i) ? i : 0;
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= 1)
            {
                reader.Skip();
            }
        }

        return 0;
    }
}
