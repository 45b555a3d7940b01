namespace Discovery.Internal;

/// <summary>The Kubernetes resources discovery lists and watches.</summary>
internal enum WatchedResource
{
    Services,
    EndpointSlices,
    Endpoints,
    Pods,
}
