using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace Discovery.Internal;

/// <summary>
/// Hands out the previous snapshot's <see cref="ServiceEndpoint"/> instance for an endpoint that did not change, so state
/// that callers key on the instance (passive health, in-flight counts) survives unrelated changes to the set.
/// </summary>
internal sealed class EndpointInterner
{
    private ImmutableArray<ServiceEndpoint> _previous = [];

    /// <summary>Returns <paramref name="endpoints"/> with unchanged members replaced by their earlier instances. Single writer.</summary>
    public ImmutableArray<ServiceEndpoint> Intern(ImmutableArray<ServiceEndpoint> endpoints)
    {
        var interned = Reuse(_previous, endpoints);
        _previous = interned;
        return interned;
    }

    /// <summary>
    /// Returns <paramref name="endpoints"/> with every member that is <see cref="SameAs"/> a member of <paramref name="earlier"/>
    /// (matched by address) replaced by that earlier instance. Returns <paramref name="earlier"/> itself when the result
    /// holds the same instances in the same order, and <paramref name="endpoints"/> itself when nothing was replaced, so
    /// that unchanged sets share their arrays too.
    /// </summary>
    public static ImmutableArray<ServiceEndpoint> Reuse(ImmutableArray<ServiceEndpoint> earlier, ImmutableArray<ServiceEndpoint> endpoints)
    {
        if (endpoints.IsDefault)
        {
            return [];
        }

        if (earlier.IsDefaultOrEmpty || endpoints.IsEmpty)
        {
            return endpoints;
        }

        // The common case after a re-list or an unrelated change: the same instances in the same order.
        var sameAsEarlier = earlier.Length == endpoints.Length;
        for (var i = 0; sameAsEarlier && i < endpoints.Length; i++)
        {
            sameAsEarlier = ReferenceEquals(earlier[i], endpoints[i]);
        }

        if (sameAsEarlier)
        {
            return earlier;
        }

        var byAddress = new Dictionary<string, ServiceEndpoint>(earlier.Length, StringComparer.OrdinalIgnoreCase);
        foreach (var endpoint in earlier)
        {
            byAddress.TryAdd(endpoint.Address, endpoint);
        }

        var result = new ServiceEndpoint[endpoints.Length];
        var replaced = false;
        sameAsEarlier = earlier.Length == endpoints.Length;
        for (var i = 0; i < endpoints.Length; i++)
        {
            var endpoint = endpoints[i];
            var kept = byAddress.TryGetValue(endpoint.Address, out var previous) && (ReferenceEquals(previous, endpoint) || SameAs(previous, endpoint)) ? previous : endpoint;
            replaced |= !ReferenceEquals(kept, endpoint);
            sameAsEarlier &= ReferenceEquals(kept, earlier[Math.Min(i, earlier.Length - 1)]);
            result[i] = kept;
        }

        return sameAsEarlier ? earlier : replaced ? ImmutableCollectionsMarshal.AsImmutableArray(result) : endpoints;
    }

    /// <summary>Whether two endpoints are interchangeable: every published field equal.</summary>
    public static bool SameAs(ServiceEndpoint a, ServiceEndpoint b)
        => string.Equals(a.Address, b.Address, StringComparison.OrdinalIgnoreCase)
            && a.AddressFamily == b.AddressFamily
            && a.IsReady == b.IsReady
            && a.IsServing == b.IsServing
            && a.IsTerminating == b.IsTerminating
            && string.Equals(a.Zone, b.Zone, StringComparison.Ordinal)
            && string.Equals(a.NodeName, b.NodeName, StringComparison.Ordinal)
            && string.Equals(a.PodName, b.PodName, StringComparison.Ordinal)
            && string.Equals(a.Hostname, b.Hostname, StringComparison.Ordinal)
            && a.Ports.SequenceEqual(b.Ports)
            && a.ZoneHints.SequenceEqual(b.ZoneHints, StringComparer.Ordinal)
            && a.NodeHints.SequenceEqual(b.NodeHints, StringComparer.Ordinal);
}
