namespace Wattstream.Server.Endpoints;

/// <summary>A JSON answer <c>{"name":[…]}</c> of items whose JSON is already made (alerts, summaries): copied, never re-encoded.</summary>
internal static class JsonLists
{
    public static IResult Of(string name, IEnumerable<ReadOnlyMemory<byte>> items)
    {
        var buffer = new MemoryStream();
        buffer.Write(System.Text.Encoding.UTF8.GetBytes($"{{\"{name}\":["));
        var first = true;
        foreach (var item in items)
        {
            if (!first)
            {
                buffer.WriteByte((byte)',');
            }

            first = false;
            buffer.Write(item.Span);
        }

        buffer.Write("]}"u8);
        return Results.Bytes(buffer.ToArray(), "application/json");
    }
}
