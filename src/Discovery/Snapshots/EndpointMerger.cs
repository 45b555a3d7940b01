using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>Collects endpoints in first-seen order, keeping one per address: the most usable of the duplicates.</summary>
internal sealed class EndpointMerger
{
    private readonly List<ServiceEndpoint> _endpoints = [];
    private readonly Dictionary<string, int> _indexByAddress = new(StringComparer.OrdinalIgnoreCase);

    public void Add(ServiceEndpoint endpoint)
    {
        if (_indexByAddress.TryGetValue(endpoint.Address, out var index))
        {
            if (Rank(endpoint) > Rank(_endpoints[index]))
            {
                _endpoints[index] = endpoint;
            }

            return;
        }

        _indexByAddress[endpoint.Address] = _endpoints.Count;
        _endpoints.Add(endpoint);
    }

    public ImmutableArray<ServiceEndpoint> ToImmutable() => [.. _endpoints];

    private static int Rank(ServiceEndpoint endpoint)
        => endpoint.IsReady ? 3 : endpoint.IsServing ? 2 : endpoint.IsTerminating ? 0 : 1;
}
