namespace Discovery;

/// <summary>How the resolver watches the Kubernetes API: per Service, or once per namespace for every Service in use there.</summary>
public enum WatchScope
{
    /// <summary>One watcher per Service, each with its own Service and EndpointSlice watch (two streams per Service). The default.</summary>
    Service,

    /// <summary>
    /// One Service list+watch and one EndpointSlice list+watch per namespace, shared by every Service in use in that
    /// namespace; per-Service snapshots are built from the shared data. Services the shared watch cannot serve
    /// (selectorless Services, pod selectors, <see cref="EndpointSourceKind.Endpoints"/> as the source, a namespace whose
    /// EndpointSlices are not served or not permitted) are watched per Service instead.
    /// </summary>
    Namespace,
}
