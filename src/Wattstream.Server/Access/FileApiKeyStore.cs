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
/// API keys for scripts and gateways on a single node: random (<c>wsk_{id}_{secret}</c>), shown once when made, stored
/// as SHA-256 of a per-key salt and the secret, revocable. Kept in <c>api-keys.json</c> beside the history database
/// (mode 600); one hub process owns the file.
/// </summary>
public sealed class FileApiKeyStore : IApiKeyStore
{
    public const string FileName = "api-keys.json";

    private readonly Lock _lock = new();
    private readonly string _file;
    private readonly TimeProvider _time;
    private Dictionary<string, ApiKeyRecord> _keys;

    public FileApiKeyStore(string directory, TimeProvider time)
    {
        _file = Path.Combine(directory, FileName);
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

    public Task<(ApiKeyRecord Record, string Key)> CreateAsync(string name, string[] orgs, string[] sites, string[] scopes, DateTimeOffset? expires)
    {
        var made = ApiKeys.New(name, orgs, sites, scopes, _time.GetUtcNow(), expires);
        lock (_lock)
        {
            var keys = new Dictionary<string, ApiKeyRecord>(_keys) { [made.Record.Id] = made.Record };
            Save(keys);
            _keys = keys;
        }

        return Task.FromResult(made);
    }

    public Task<bool> RevokeAsync(string id)
    {
        lock (_lock)
        {
            if (!_keys.ContainsKey(id))
            {
                return Task.FromResult(false);
            }

            var keys = new Dictionary<string, ApiKeyRecord>(_keys);
            keys.Remove(id);
            Save(keys);
            _keys = keys;
            return Task.FromResult(true);
        }
    }

    public bool IsLive(string id) => Volatile.Read(ref _keys).ContainsKey(id);

    public bool TryVerify(string presented, out ApiKeyRecord record) => ApiKeys.TryVerify(Volatile.Read(ref _keys), presented, _time.GetUtcNow(), out record);

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
[JsonSerializable(typeof(ApiKeyRecord))]
internal sealed partial class ApiKeyJsonContext : JsonSerializerContext;
