namespace Discovery.Http;

/// <summary>
/// The endpoints (<c>address:port</c>) that failed one request, kept in <see cref="HttpRequestMessage.Options"/> so that
/// retries, ours and those of outer resilience handlers that re-send the same message, go elsewhere.
/// </summary>
internal sealed class TriedEndpoints
{
    public static readonly HttpRequestOptionsKey<TriedEndpoints> OptionsKey = new("Discovery.Http.TriedEndpoints");

    private readonly List<string> _authorities = new(2);

    public int Count => _authorities.Count;

    public bool Contains(string authority)
    {
        foreach (var tried in _authorities)
        {
            if (string.Equals(tried, authority, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(string authority)
    {
        if (!Contains(authority))
        {
            _authorities.Add(authority);
        }
    }
}
