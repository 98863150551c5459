using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Wattstream.Server.Access;

/// <summary>An API key as stored: its grant and a salted hash of its secret, never the secret itself.</summary>
public sealed record ApiKeyRecord(
    string Id,
    string Name,
    string[] Orgs,
    string[] Sites,
    string[] Scopes,
    DateTimeOffset Created,
    DateTimeOffset? Expires,
    string Salt,
    string Hash);

/// <summary>
/// API keys for scripts and gateways: random (<c>wsk_{id}_{secret}</c>), shown once when made, stored as SHA-256 of a
/// per-key salt and the secret, revocable. Kept in <c>api-keys.json</c> beside the history database (mode 600); one
/// hub process owns the file.
/// </summary>
public sealed class ApiKeyStore
{
    public const string Prefix = "wsk_";

    private readonly Lock _lock = new();
    private readonly string _file;
    private readonly TimeProvider _time;
    private Dictionary<string, ApiKeyRecord> _keys;

    public ApiKeyStore(string directory, TimeProvider time)
    {
        _file = Path.Combine(directory, "api-keys.json");
        _time = time;
        _keys = File.Exists(_file)
            ? (JsonSerializer.Deserialize(File.ReadAllBytes(_file), ApiKeyJsonContext.Default.ApiKeyRecordArray) ?? []).ToDictionary(k => k.Id, StringComparer.Ordinal)
            : new Dictionary<string, ApiKeyRecord>(StringComparer.Ordinal);
    }

    public IReadOnlyList<ApiKeyRecord> List()
    {
        lock (_lock)
        {
            return [.. _keys.Values.OrderBy(k => k.Created)];
        }
    }

    /// <summary>Makes a key; the returned secret is the only copy there will ever be.</summary>
    public (ApiKeyRecord Record, string Key) Create(string name, string[] orgs, string[] sites, string[] scopes, DateTimeOffset? expires)
    {
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var secret = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var salt = RandomNumberGenerator.GetBytes(16);
        var record = new ApiKeyRecord(id, name, orgs, sites, scopes, _time.GetUtcNow(), expires, Convert.ToBase64String(salt), Hash(salt, secret));
        lock (_lock)
        {
            var keys = new Dictionary<string, ApiKeyRecord>(_keys) { [id] = record };
            Save(keys);
            _keys = keys;
        }

        return (record, $"{Prefix}{id}_{secret}");
    }

    public bool Revoke(string id)
    {
        lock (_lock)
        {
            if (!_keys.ContainsKey(id))
            {
                return false;
            }

            var keys = new Dictionary<string, ApiKeyRecord>(_keys);
            keys.Remove(id);
            Save(keys);
            _keys = keys;
            return true;
        }
    }

    /// <summary>Whether the key <paramref name="id"/> still exists (not revoked); cheap, for open streams to ask often.</summary>
    public bool IsLive(string id) => Volatile.Read(ref _keys).ContainsKey(id);

    /// <summary>The key's record when <paramref name="presented"/> is a live key of this store.</summary>
    public bool TryVerify(string presented, out ApiKeyRecord record)
    {
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

        if (!Volatile.Read(ref _keys).TryGetValue(rest[..separator].ToString(), out var found)
            || found.Expires <= _time.GetUtcNow()
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

    // Written whole to a temporary file, then moved over the old one: a crash leaves one or the other, never half.
    private void Save(Dictionary<string, ApiKeyRecord> keys)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        var temporary = _file + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // only the hub's user reads the hashes
        }

        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, keys.Values.ToArray(), ApiKeyJsonContext.Default.ApiKeyRecordArray);
        }

        File.Move(temporary, _file, overwrite: true);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ApiKeyRecord[]))]
internal sealed partial class ApiKeyJsonContext : JsonSerializerContext;
