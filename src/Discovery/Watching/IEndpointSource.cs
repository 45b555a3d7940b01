namespace Discovery.Internal;

/// <summary>
/// Where one watcher's snapshots come from: its own per-Service informers (<see cref="PerServiceSource"/>) or its
/// namespace's shared watch (<see cref="NamespaceSource"/>). A source reads and builds; it never publishes and never
/// changes the watcher's scope: the watcher (the coordinator) decides which source serves (see
/// <see cref="ServiceWatcher"/>, "Scope").
/// </summary>
internal interface IEndpointSource
{
    /// <summary>Builds a snapshot from what the source holds now. Returns data only: no publishing, no scope change.</summary>
    ValueTask<SourceBuild> BuildAsync(ServiceSnapshotBuilder builder, CancellationToken cancellationToken);
}

/// <summary>What a source's build produced.</summary>
/// <param name="Snapshot">The snapshot, or <see langword="null"/> when the source has not synced what it needs yet.</param>
/// <param name="NotServed">The source cannot serve this Service (a selectorless Service on the namespace watch): the
/// watcher must watch it per Service.</param>
internal readonly record struct SourceBuild(ServiceEndpointSnapshot? Snapshot, bool NotServed)
{
    public static SourceBuild NotReady => default;

    public static SourceBuild CannotServe => new(null, true);

    public static implicit operator SourceBuild(ServiceEndpointSnapshot snapshot) => new(snapshot, false);
}
