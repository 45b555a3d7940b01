namespace Discovery.Internal;

/// <summary>What one list-then-watch loop reads: a resource in a namespace, narrowed by selectors.</summary>
internal sealed record ResourceQuery(WatchedResource Resource, string Namespace, string? LabelSelector, string? FieldSelector)
{
    public string ResourceName => Resource switch
    {
        WatchedResource.Services => "services",
        WatchedResource.EndpointSlices => "endpointslices",
        WatchedResource.Endpoints => "endpoints",
        _ => "pods",
    };

    /// <summary>The object kind, for log messages.</summary>
    public string Kind => Resource switch
    {
        WatchedResource.Services => "Service",
        WatchedResource.EndpointSlices => "EndpointSlice",
        WatchedResource.Endpoints => "Endpoints",
        _ => "Pod",
    };

    public string ApiGroup => Resource == WatchedResource.EndpointSlices ? "discovery.k8s.io" : string.Empty;

    public override string ToString()
        => $"{ResourceName} in {Namespace}{(LabelSelector is null ? string.Empty : " -l " + LabelSelector)}{(FieldSelector is null ? string.Empty : " --field-selector " + FieldSelector)}";
}
