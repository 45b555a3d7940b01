using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// Hands out the previous snapshot's <see cref="ServiceEndpoint"/> instance for an endpoint that did not change, so state
/// that callers key on the instance (passive health, in-flight counts) survives unrelated changes to the set.
/// </summary>
internal sealed class EndpointInterner
{
    private Dictionary<string, ServiceEndpoint> _previous = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Returns <paramref name="endpoints"/> with unchanged members replaced by their earlier instances. Single writer.</summary>
    public ImmutableArray<ServiceEndpoint> Intern(ImmutableArray<ServiceEndpoint> endpoints)
    {
        var current = new Dictionary<string, ServiceEndpoint>(endpoints.Length, StringComparer.OrdinalIgnoreCase);
        var builder = ImmutableArray.CreateBuilder<ServiceEndpoint>(endpoints.Length);
        foreach (var endpoint in endpoints)
        {
            var kept = _previous.TryGetValue(endpoint.Address, out var earlier) && SameAs(earlier, endpoint) ? earlier : endpoint;
            builder.Add(kept);
            current[endpoint.Address] = kept;
        }

        _previous = current;
        return builder.MoveToImmutable();
    }

    private static bool SameAs(ServiceEndpoint a, ServiceEndpoint b)
        => a.AddressFamily == b.AddressFamily
            && a.IsReady == b.IsReady
            && a.IsServing == b.IsServing
            && a.IsTerminating == b.IsTerminating
            && string.Equals(a.Zone, b.Zone, StringComparison.Ordinal)
            && string.Equals(a.NodeName, b.NodeName, StringComparison.Ordinal)
            && string.Equals(a.PodName, b.PodName, StringComparison.Ordinal)
            && string.Equals(a.Hostname, b.Hostname, StringComparison.Ordinal)
            && a.Ports.SequenceEqual(b.Ports)
            && a.ZoneHints.SequenceEqual(b.ZoneHints, StringComparer.Ordinal);
}
