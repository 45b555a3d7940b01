namespace Discovery.Testing.Tests.Fixtures;

/// <summary>A response read off the socket: headers in order, the decoded body, and the raw chunks if chunked.</summary>
internal sealed record RawHttpResponse(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, IReadOnlyList<byte[]>? Chunks)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public bool IsChunked => Chunks is not null;
}
