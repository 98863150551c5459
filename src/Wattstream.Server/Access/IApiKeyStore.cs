using System.Security.Cryptography;
using System.Text;

namespace Wattstream.Server.Access;

/// <summary>
/// Where API keys are kept: <c>api-keys.json</c> on a single node (<see cref="FileApiKeyStore"/>), a KV bucket shared by
/// every node in cluster mode (<see cref="Wattstream.Server.Nats.ClusterApiKeyStore"/>). Either holds only salted hashes of the secrets.
/// </summary>
public interface IApiKeyStore
{
    IReadOnlyList<ApiKeyRecord> List();

    /// <summary>Makes a key; the returned secret is the only copy there will ever be.</summary>
    Task<(ApiKeyRecord Record, string Key)> CreateAsync(string name, string[] orgs, string[] sites, string[] scopes, DateTimeOffset? expires);

    /// <summary>False when no key had this id.</summary>
    Task<bool> RevokeAsync(string id);

    /// <summary>Whether the key <paramref name="id"/> still exists (not revoked); cheap, for open streams to ask often.</summary>
    bool IsLive(string id);

    /// <summary>The key's record when <paramref name="presented"/> is a live key of this store.</summary>
    bool TryVerify(string presented, out ApiKeyRecord record);
}

/// <summary>What every key store shares: the key's form (<c>wsk_{id}_{secret}</c>), its making and its check.</summary>
public static class ApiKeys
{
    public const string Prefix = "wsk_";

    /// <summary>A new key's record (with the hash) and the key itself (with the secret).</summary>
    public static (ApiKeyRecord Record, string Key) New(string name, string[] orgs, string[] sites, string[] scopes, DateTimeOffset created, DateTimeOffset? expires)
    {
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var secret = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var salt = RandomNumberGenerator.GetBytes(16);
        var record = new ApiKeyRecord(id, name, orgs, sites, scopes, created, expires, Convert.ToBase64String(salt), Hash(salt, secret));
        return (record, $"{Prefix}{id}_{secret}");
    }

    /// <summary>The record of <paramref name="presented"/> when it is one of <paramref name="keys"/>, unexpired, with the right secret.</summary>
    public static bool TryVerify(IReadOnlyDictionary<string, ApiKeyRecord> keys, string presented, DateTimeOffset now, out ApiKeyRecord record)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(presented);
        record = null!;
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length > 200)
        {
            return false;
        }

        var rest = presented.AsSpan(Prefix.Length);
        var separator = rest.IndexOf('_');
        if (separator <= 0)
        {
            return false;
        }

        if (!keys.TryGetValue(rest[..separator].ToString(), out var found)
            || found.Expires <= now
            || !CryptographicOperations.FixedTimeEquals(
                Encoding.ASCII.GetBytes(Hash(Convert.FromBase64String(found.Salt), rest[(separator + 1)..].ToString())),
                Encoding.ASCII.GetBytes(found.Hash)))
        {
            return false;
        }

        record = found;
        return true;
    }

    private static string Hash(byte[] salt, string secret) =>
        Convert.ToHexString(SHA256.HashData([.. salt, .. Encoding.UTF8.GetBytes(secret)])).ToLowerInvariant();
}
