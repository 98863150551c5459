using System.Buffers;

namespace Wattstream.Streaming.Formats;

/// <summary>
/// This thread's buffers for encoding an event: an encoding is written here and copied once into the array every client
/// shares, so the only allocation per encoding is that array (issue 31: two growing buffers per encoding were a tenth of
/// a push's CPU in garbage). Taken and given back, so a nested encoding gets buffers of its own.
/// </summary>
internal static class ScratchBuffers
{
    // A buffer an unusually large event grew past this is left to the collector rather than kept for the thread's life.
    private const int KeepAtMost = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_first;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_second;

    public static ArrayBufferWriter<byte> Take()
    {
        if (t_first is { } first)
        {
            t_first = null;
            return first;
        }

        if (t_second is { } second)
        {
            t_second = null;
            return second;
        }

        return new ArrayBufferWriter<byte>(1024);
    }

    public static void Return(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity > KeepAtMost)
        {
            return;
        }

        buffer.ResetWrittenCount();
        if (t_first is null)
        {
            t_first = buffer;
        }
        else
        {
            t_second ??= buffer;
        }
    }
}
