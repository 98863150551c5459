using Wattstream.Mqtt.Broker;

namespace Wattstream.Mqtt.Tests.Broker;

/// <summary>The packet-size limit follows MQTT's framing across reads of any size and refuses a long packet by its header.</summary>
public sealed class PacketSizeLimitTests
{
    // A packet: its first byte, its remaining length as MQTT's variable-length integer, then that many bytes.
    private static byte[] Packet(byte first, int length)
    {
        var bytes = new List<byte> { first };
        var n = length;
        do
        {
            var b = (byte)(n % 128);
            n /= 128;
            bytes.Add(n > 0 ? (byte)(b | 0x80) : b);
        }
        while (n > 0);

        bytes.AddRange(Enumerable.Repeat((byte)'x', length));
        return [.. bytes];
    }

    private static async Task<long?> ReadAllAsync(byte[] wire, int limit, int chunk)
    {
        long? refused = null;
        await using var stream = new PacketSizeLimit(new MemoryStream(wire), limit, length => refused = length);
        var buffer = new byte[chunk];
        while (await stream.ReadAsync(buffer) > 0)
        {
        }

        return refused;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task Packets_within_the_limit_pass_in_reads_of_any_size(int chunk)
    {
        byte[] wire = [.. Packet(0x10, 40), .. Packet(0xC0, 0), .. Packet(0x30, 200), .. Packet(0x30, 130)]; // CONNECT, PINGREQ, two PUBLISHes
        Assert.Null(await ReadAllAsync(wire, 200, chunk));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public async Task A_packet_over_the_limit_fails_the_read_at_its_header(int chunk)
    {
        byte[] wire = [.. Packet(0x30, 100), .. Packet(0x30, 20_000)];
        long? refused = null;
        await using var stream = new PacketSizeLimit(new MemoryStream(wire), 1000, length => refused = length);
        var buffer = new byte[chunk];
        var read = 0;
        var failed = await Assert.ThrowsAsync<IOException>(async () =>
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                read += n;
            }
        });

        Assert.Equal(20_000, refused);
        Assert.Contains("20000", failed.Message, StringComparison.Ordinal);
        Assert.True(read < 102 + 4 + chunk, $"read {read} bytes"); // the long packet's body was never read through
    }

    [Fact]
    public async Task A_remaining_length_of_more_than_four_bytes_is_refused()
    {
        await using var stream = new PacketSizeLimit(new MemoryStream([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), 1000, _ => { });
        await Assert.ThrowsAsync<IOException>(async () => await stream.ReadAtLeastAsync(new byte[16], 6));
    }
}
