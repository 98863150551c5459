using Microsoft.Extensions.Options;

namespace Wattstream.Server.Access;

/// <summary>
/// <c>Auth:MaxKeysPerOrg</c>: keys are made one at a time on a node, so two makes at once cannot both take an org's last
/// place. The count is the store's, which in cluster mode is the whole cluster's.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim is only awaited (WaitAsync), so it never creates a wait handle to dispose.")]
public sealed class ApiKeyLimit(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly SemaphoreSlim _makes = new(1, 1);
    private long _refused;

    public int MaxPerOrg => options.Value.MaxKeysPerOrg;

    /// <summary>Keys refused by the limit since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Makes the key unless one of <paramref name="orgs"/> is full; then nothing is made and that org is named.</summary>
    public async Task<(ApiKeyRecord Record, string Key)?> CreateAsync(
        IApiKeyStore keys, string name, string[] orgs, string[] sites, string[] scopes, DateTimeOffset? expires, Action<string> full)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(full);
        await _makes.WaitAsync();
        try
        {
            var now = time.GetUtcNow();
            var live = keys.List().Where(k => !(k.Expires <= now)).ToList();
            if (orgs.FirstOrDefault(org => org != "*" && live.Count(k => k.Orgs.Contains(org)) >= MaxPerOrg) is { } fullOrg)
            {
                Interlocked.Increment(ref _refused);
                full(fullOrg);
                return null;
            }

            return await keys.CreateAsync(name, orgs, sites, scopes, expires);
        }
        finally
        {
            _makes.Release();
        }
    }
}
