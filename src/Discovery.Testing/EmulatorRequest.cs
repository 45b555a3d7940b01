namespace Discovery.Testing;

/// <summary>A request the emulator received, recorded so tests can assert what a client asked for.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="PathAndQuery">Path and query string exactly as received (still percent-encoded).</param>
/// <param name="UserAgent">The User-Agent header, if any.</param>
/// <param name="HasAuthorization">Whether an Authorization header was sent (its value is never recorded).</param>
/// <param name="ReceivedAt">When the request arrived, by the emulator's <see cref="TimeProvider"/>.</param>
public sealed record EmulatorRequest(string Method, string PathAndQuery, string? UserAgent, bool HasAuthorization, DateTimeOffset ReceivedAt)
{
    /// <summary>The path without the query string.</summary>
    public string Path => PathAndQuery.Split('?', 2)[0];

    /// <summary>Whether this was a watch request (<c>watch=true</c> or <c>watch=1</c>).</summary>
    public bool IsWatch => PathAndQuery.Contains("watch=true", StringComparison.Ordinal) || PathAndQuery.Contains("watch=1", StringComparison.Ordinal);
}
