using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NATS.NKeys;

namespace Wattstream.Testing;

/// <summary>
/// A NATS operator with one account, minting user JWTs and <c>.creds</c> files as <c>nsc</c> would, for a nats-server
/// in operator mode (decentralised auth: the server trusts the operator, the account JWT is preloaded, users present a
/// JWT signed by the account and sign the server's nonce with their seed). For tests only.
/// </summary>
public sealed class NatsOperator : IDisposable
{
    private readonly KeyPair _operator = KeyPair.CreatePair(PrefixByte.Operator);
    private readonly KeyPair _account = KeyPair.CreatePair(PrefixByte.Account);
    private readonly KeyPair _system = KeyPair.CreatePair(PrefixByte.Account); // JetStream needs a system account

    public string AccountPublicKey => _account.GetPublicKey();

    /// <summary>The nats-server configuration that trusts this operator and knows its account (JetStream enabled).</summary>
    public string ServerConfiguration()
    {
        var operatorJwt = Sign(_operator, _operator.GetPublicKey(), "test-operator", new JsonObject { ["type"] = "operator", ["version"] = 2 });
        var accountJwt = Sign(_operator, _account.GetPublicKey(), "test-account", new JsonObject
        {
            ["limits"] = new JsonObject
            {
                ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true,
                ["conn"] = -1, ["leaf"] = -1, ["mem_storage"] = -1, ["disk_storage"] = -1, ["streams"] = -1, ["consumer"] = -1,
            },
            ["type"] = "account",
            ["version"] = 2,
        });
        var systemJwt = Sign(_operator, _system.GetPublicKey(), "SYS", new JsonObject { ["type"] = "account", ["version"] = 2 });
        return $$"""
            operator: "{{operatorJwt}}"
            system_account: {{_system.GetPublicKey()}}
            resolver: MEMORY
            resolver_preload: {
              {{_account.GetPublicKey()}}: "{{accountJwt}}"
              {{_system.GetPublicKey()}}: "{{systemJwt}}"
            }
            """;
    }

    /// <summary>A <c>.creds</c> file's text for a new user of the account (<paramref name="signer"/>: another account's key, to be refused).</summary>
    public string UserCreds(string name, KeyPair? signer = null)
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        var jwt = Sign(signer ?? _account, user.GetPublicKey(), name, new JsonObject
        {
            ["pub"] = new JsonObject(), ["sub"] = new JsonObject(), ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["type"] = "user", ["version"] = 2,
        });
        return $"""
            -----BEGIN NATS USER JWT-----
            {jwt}
            ------END NATS USER JWT------

            ************************* IMPORTANT *************************
            NKEY Seed printed below can be used to sign and prove identity.
            NKEYs are sensitive and should be treated as secrets.

            -----BEGIN USER NKEY SEED-----
            {user.GetSeed()}
            ------END USER NKEY SEED------
            """;
    }

    private static string Sign(KeyPair issuer, string subject, string name, JsonObject nats)
    {
        var claims = new JsonObject
        {
            ["jti"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["iss"] = issuer.GetPublicKey(),
            ["name"] = name,
            ["sub"] = subject,
            ["nats"] = nats,
        };
        var signingInput = $"{Base64Url("""{"typ":"JWT","alg":"ed25519-nkey"}"""u8)}.{Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()))}";
        var signature = new byte[64];
        issuer.Sign(Encoding.ASCII.GetBytes(signingInput), signature);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        _operator.Dispose();
        _account.Dispose();
        _system.Dispose();
    }
}
