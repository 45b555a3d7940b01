namespace Discovery;

/// <summary>How the resolver watches the Kubernetes API: per Service, or once per namespace for every Service in use there.</summary>
public enum WatchScope
{
    /// <summary>One watcher per Service, each with its own Service and EndpointSlice watch (two streams per Service).</summary>
    Service,

    /// <summary>
    /// One Service list+watch and one EndpointSlice list+watch per namespace, shared by every Service in use in that
    /// namespace; per-Service snapshots are built from the shared data. Services the shared watch cannot serve
    /// (selectorless Services, pod selectors, <see cref="EndpointSourceKind.Endpoints"/> as the source, a namespace whose
    /// EndpointSlices are not served or not permitted) are watched per Service instead.
    /// </summary>
    Namespace,

    /// <summary>
    /// The default: Services are watched per Service (<see cref="Service"/>) until more than
    /// <see cref="KubernetesDiscoveryOptions.NamespaceWatchThreshold"/> of one namespace are in use; then that namespace
    /// gets a shared watch (<see cref="Namespace"/>), and its per-Service watchers move onto it once it has synced, each
    /// keeping its published snapshot throughout (no empty or partial set in between).
    /// </summary>
    Auto,
}
