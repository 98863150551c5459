using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;

namespace Wattstream.Server.Endpoints;

/// <summary>
/// Kestrel answers a request it cannot parse (a malformed request line or header, a URI or headers over its limits)
/// itself, before any middleware, with an empty body. This connection middleware recognises such an answer as it is
/// written — an HTTP/1.x 4xx status line whose header block says <c>Content-Length: 0</c> and <c>Connection: close</c>,
/// which the hub's own error answers never are (they carry a problem document) — and replaces it with the same status
/// and a problem document, so every error a client can get from the hub has the same shape.
/// </summary>
/// <remarks>
/// Every write of the connection passes through <see cref="RejectionWriter.Advance"/>, which costs a length check and
/// two byte comparisons for anything that is not such a rejection.
/// </remarks>
internal static class KestrelRejections
{
    public static void UseProblemRejections(this Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen) =>
        listen.Use(next => connection =>
        {
            var transport = connection.Transport;
            connection.Transport = new DuplexPipe(transport.Input, new RejectionWriter(transport.Output));
            return next(connection);
        });

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    private sealed class RejectionWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _lastMemory;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _lastMemory = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_lastMemory = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            var written = _lastMemory.Span[..Math.Min(bytes, _lastMemory.Length)];
            if (IsBareRejection(written, out var status))
            {
                // Not advancing drops Kestrel's empty answer; ours takes its place.
                _lastMemory = default;
                inner.Write(ProblemResponse(status, written));
                return;
            }

            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
    }

    private static bool IsBareRejection(ReadOnlySpan<byte> written, out int status)
    {
        status = 0;
        if (written.Length < 16 || !written.StartsWith("HTTP/1."u8) || written[9] != (byte)'4' || !written.EndsWith("\r\n\r\n"u8))
        {
            return false;
        }

        var headers = written[..^2];
        if (headers.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0 || headers.IndexOf("\r\nConnection: close\r\n"u8) < 0
            || headers.IndexOf("\r\nContent-Type:"u8) >= 0)
        {
            return false;
        }

        return int.TryParse(Encoding.ASCII.GetString(written.Slice(9, 3)), out status);
    }

    private static byte[] ProblemResponse(int status, ReadOnlySpan<byte> kestrelAnswer)
    {
        var (error, title, detail) = status switch
        {
            StatusCodes.Status414UriTooLong => ("uri_too_long", "Request URI too long", "The request line is longer than the server accepts."),
            StatusCodes.Status431RequestHeaderFieldsTooLarge => ("headers_too_large", "Request headers too large", "The request's headers are larger than the server accepts."),
            StatusCodes.Status408RequestTimeout => ("request_timeout", "Request too slow", "The request's headers did not arrive in time."),
            _ => ("bad_request", "Malformed request", "The request line or a header line is not valid HTTP."),
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new Dictionary<string, object>
            {
                ["type"] = $"https://tools.ietf.org/html/rfc9110#section-15.5.{status - 399}",
                ["title"] = title,
                ["status"] = status,
                ["detail"] = detail,
                ["error"] = error,
                ["message"] = detail,
            });

        // Keep Kestrel's status line and its Date header; say what the body is.
        var text = Encoding.ASCII.GetString(kestrelAnswer);
        var statusLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
        var dateStart = text.IndexOf("\r\nDate: ", StringComparison.Ordinal);
        var date = dateStart < 0 ? "" : text[(dateStart + 2)..text.IndexOf("\r\n", dateStart + 2, StringComparison.Ordinal)] + "\r\n";
        var head = $"{statusLine}\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n{date}\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }
}
