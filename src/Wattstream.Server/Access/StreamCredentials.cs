using Wattstream.Streaming.Sessions;

namespace Wattstream.Server.Access;

/// <summary>
/// The credential a stream is opened with, for the supervisor: its expiry, and for an API key whether the key has been
/// revoked since (so revoking a key ends its open streams on every transport, not only its next request).
/// </summary>
public static class StreamCredentials
{
    /// <summary>An API key's caller is <c>key:{id}</c>.</summary>
    public const string KeySubjectPrefix = "key:";

    /// <summary>The request's credential; null for an anonymous caller.</summary>
    public static StreamCredential? Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Caller.Of(context.User) is not { } caller)
        {
            return null;
        }

        // Only a caller the API key scheme authenticated is a key (a token's subject is whatever its issuer wrote).
        if (context.User.Identity?.AuthenticationType == ApiKeyAuthenticationHandler.SchemeName
            && caller.Name.StartsWith(KeySubjectPrefix, StringComparison.Ordinal)
            && context.RequestServices.GetService<IApiKeyStore>() is { } keys)
        {
            var id = caller.Name[KeySubjectPrefix.Length..];
            return new StreamCredential(caller.ExpiresAt, () => !keys.IsLive(id));
        }

        return new StreamCredential(caller.ExpiresAt);
    }
}
