namespace Discovery;

/// <summary>The state of one Service's watcher, for health checks and diagnostics.</summary>
/// <param name="Service">The Service watched.</param>
/// <param name="IsSynced">Whether the watcher has published a snapshot from the API (fallback snapshots do not count).</param>
/// <param name="IsStale">Whether the watcher is failing and has not heard from the API for longer than <see cref="KubernetesDiscoveryOptions.StaleAfter"/>.</param>
/// <param name="Source">Where the current snapshot's endpoints come from, if there is one.</param>
/// <param name="UsableEndpoints">The number of endpoints receiving traffic in the current snapshot.</param>
/// <param name="SinceLastContact">Time since the watcher last heard from the API (a list, an event, or a watch ending cleanly): the snapshot's age.</param>
/// <param name="Age">Time since the watcher started.</param>
/// <param name="LastError">The last failure, while the watcher is failing.</param>
public sealed record ServiceWatcherStatus(
    ServiceKey Service,
    bool IsSynced,
    bool IsStale,
    EndpointSourceKind? Source,
    int UsableEndpoints,
    TimeSpan SinceLastContact,
    TimeSpan Age,
    string? LastError);
