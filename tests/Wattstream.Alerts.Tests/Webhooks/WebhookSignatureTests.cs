using System.Text;
using Wattstream.Alerts.Webhooks;

namespace Wattstream.Alerts.Tests;

public class WebhookSignatureTests
{
    private const string Secret = "whsec-0123456789abcdef";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":1,"type":"low_voltage"}""");

    [Fact]
    public void A_signature_verifies_only_for_its_body_secret_and_a_recent_time()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);
        var signature = WebhookSignature.Sign(Secret, now.ToUnixTimeSeconds(), Body);
        Assert.StartsWith("v1=", signature, StringComparison.Ordinal);
        Assert.Equal(67, signature.Length);
        var tolerance = TimeSpan.FromMinutes(5);

        Assert.True(WebhookSignature.Verify(Secret, "1790000000", signature, Body, now.AddMinutes(2), tolerance));
        Assert.False(WebhookSignature.Verify(Secret, "1790000000", signature, Body, now.AddMinutes(6), tolerance)); // a replay, later
        Assert.False(WebhookSignature.Verify(Secret, "1790000001", signature, Body, now, tolerance)); // another time
        Assert.False(WebhookSignature.Verify("another-secret-of-16", "1790000000", signature, Body, now, tolerance));
        Assert.False(WebhookSignature.Verify(Secret, "1790000000", signature, Encoding.UTF8.GetBytes("""{"id":2,"type":"low_voltage"}"""), now, tolerance));
    }
}
