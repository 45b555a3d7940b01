using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// What discovery keeps of one EndpointSlice instead of the client's typed object: the Service it belongs to and its
/// usable endpoints, already validated, normalized and de-duplicated. The <see cref="ServiceEndpoint"/> instances are the
/// ones snapshots publish (shared, not copied), and an unchanged endpoint keeps its instance across versions of the slice.
/// Immutable.
/// </summary>
internal sealed class EndpointSliceProjection
{
    public EndpointSliceProjection(string name, string? serviceName, ImmutableArray<ServiceEndpoint> endpoints, ObjectIssues? issues)
    {
        Name = name;
        ServiceName = serviceName;
        Endpoints = endpoints.IsDefault ? [] : endpoints;
        Issues = issues;
    }

    /// <summary>The slice's name.</summary>
    public string Name { get; }

    /// <summary>The <c>kubernetes.io/service-name</c> label, or <see langword="null"/> when absent or empty.</summary>
    public string? ServiceName { get; }

    /// <summary>The slice's endpoints in order, one per address (the most usable of duplicates), invalid entries left out.</summary>
    public ImmutableArray<ServiceEndpoint> Endpoints { get; }

    /// <summary>What was left out of the slice (logged by the watchers that use it), or <see langword="null"/>.</summary>
    public ObjectIssues? Issues { get; }
}
