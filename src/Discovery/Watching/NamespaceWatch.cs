using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// The shared watch of one namespace (<see cref="WatchScope.Namespace"/>): one Service informer and one EndpointSlice
/// informer (every slice with a <c>kubernetes.io/service-name</c> label) for all the Services in use there. A change
/// rebuilds only the member watchers of the Services it concerns; a re-list rebuilds every member, each of which
/// publishes only if its content changed. Started by the first member, stopped when the last one leaves.
/// </summary>
internal sealed class NamespaceWatch : IResourceInformerOwner, IAsyncDisposable
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    private readonly WatcherContext _context;
    private readonly NamespaceWatchRegistry _registry;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    // Each Service's slices, ordered by name. The slice informer's task is the only writer: readers (member builds) see
    // whole immutable versions.
    private ImmutableDictionary<string, ImmutableArray<EndpointSliceProjection>> _slicesByService = ImmutableDictionary<string, ImmutableArray<EndpointSliceProjection>>.Empty.WithComparers(StringComparer.Ordinal);
    // Written under the registry's lock only; read lock-free.
    private ImmutableDictionary<string, ServiceWatcher> _members = ImmutableDictionary<string, ServiceWatcher>.Empty.WithComparers(StringComparer.Ordinal);
    private long _lastContact;
    private volatile bool _failing;
    private volatile Exception? _lastError;
    private Task? _stopped;
    private volatile bool _slicesIndexed;
    // Bit 1: the Services' first list was applied; bit 2: the slices' first list was indexed. Set with Interlocked.Or,
    // so that exactly one of the two informer tasks sees both and reports the sync.
    private int _syncedParts;

    public NamespaceWatch(string ns, WatcherContext context, NamespaceWatchRegistry registry)
    {
        Namespace = ns;
        _context = context;
        _registry = registry;
        _lastContact = context.TimeProvider.GetTimestamp();
        var key = new ServiceKey(ns, "*");
        Services = new ResourceInformer(new ResourceQuery(WatchedResource.Services, ns, null, null), key, context, this);
        Slices = new ResourceInformer(new ResourceQuery(WatchedResource.EndpointSlices, ns, ServiceNameLabel, null), key, context, this);
    }

    public string Namespace { get; }

    public ResourceInformer Services { get; }

    public ResourceInformer Slices { get; }

    /// <summary>
    /// Whether the slice index holds the first list. Not <see cref="ResourceInformer.HasSynced"/>: that turns true before the
    /// index is built, and a build in between would publish a Service without its endpoints.
    /// </summary>
    public bool SlicesSynced => _slicesIndexed;

    public bool IsFailing => _failing;

    public Exception? LastError => _lastError;

    public TimeSpan SinceLastContact => _context.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastContact));

    public ImmutableDictionary<string, ServiceWatcher> Members => Volatile.Read(ref _members);

    public void Start()
    {
        var token = _stopping.Token;
        _loops.Add(Task.Run(() => Services.RunAsync(token), CancellationToken.None));
        _loops.Add(Task.Run(() => Slices.RunAsync(token), CancellationToken.None));
    }

    /// <summary>Stops both informers (once); the task completes when their loops have ended.</summary>
    public Task StopAsync()
    {
        lock (_loops)
        {
            return _stopped ??= StopCoreAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public ServiceProjection? FindService(string name) => Services.Store.FindService(name);

    /// <summary>The slices of Service <paramref name="name"/>, ordered by name.</summary>
    public ImmutableArray<EndpointSliceProjection> SlicesOf(string name)
        => Volatile.Read(ref _slicesByService).TryGetValue(name, out var slices) ? slices : [];

    /// <summary>Under the registry's lock.</summary>
    internal void AddMember(ServiceWatcher watcher) => Interlocked.Exchange(ref _members, _members.SetItem(watcher.Key.Name, watcher));

    /// <summary>Under the registry's lock; whether no member is left.</summary>
    internal bool RemoveMember(ServiceWatcher watcher)
    {
        if (_members.TryGetValue(watcher.Key.Name, out var current) && ReferenceEquals(current, watcher))
        {
            Volatile.Write(ref _members, _members.Remove(watcher.Key.Name));
        }

        return _members.IsEmpty;
    }

    /// <summary>Under the registry's lock: hands every member back (to be watched per Service).</summary>
    internal ImmutableDictionary<string, ServiceWatcher> TakeMembers()
    {
        var members = _members;
        Volatile.Write(ref _members, _members.Clear());
        return members;
    }

    async ValueTask IResourceInformerOwner.OnChangedAsync(InformerChange change, CancellationToken cancellationToken)
    {
        var changed = change.Name;
        if (ReferenceEquals(change.Informer, Slices))
        {
            if (changed is null)
            {
                ReindexSlices(change.After);
                await RebuildAllAsync(cancellationToken).ConfigureAwait(false);
                await OnPartSyncedAsync(2, cancellationToken).ConfigureAwait(false);
                return;
            }

            var (before, after) = ReindexSlice(changed, change.Before.FindSlice(changed), change.After.FindSlice(changed));
            if (before is not null)
            {
                await RebuildAsync(before, cancellationToken).ConfigureAwait(false);
            }

            if (after is not null && !string.Equals(before, after, StringComparison.Ordinal))
            {
                await RebuildAsync(after, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (changed is null)
        {
            await RebuildAllAsync(cancellationToken).ConfigureAwait(false);
            await OnPartSyncedAsync(1, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RebuildAsync(changed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Once both informers have their first list: the registry moves the namespace's per-Service watchers here (<see cref="WatchScope.Auto"/>).</summary>
    private async ValueTask OnPartSyncedAsync(int part, CancellationToken cancellationToken)
    {
        var before = Interlocked.Or(ref _syncedParts, part);
        if (before != 3 && (before | part) == 3)
        {
            await _registry.MoveWaitingAsync(this, cancellationToken).ConfigureAwait(false);
        }
    }

    void IResourceInformerOwner.OnContact(ResourceInformer informer)
    {
        Volatile.Write(ref _lastContact, _context.TimeProvider.GetTimestamp());
        _failing = false;
    }

    void IResourceInformerOwner.OnFailure(ResourceInformer informer, Exception error)
    {
        _lastError = error;
        _failing = true;
        foreach (var member in Members.Values)
        {
            member.OnSharedFailure(informer.Query, error);
        }
    }

    ResourceQuery? IResourceInformerOwner.GetFallback(ResourceInformer informer, KubernetesStatusException error)
    {
        // No namespace-wide Endpoints fallback: the namespace's Services go back to per-Service watchers, which fall back
        // to Endpoints on their own. This informer then stops with the rest of the namespace watch.
        if (ReferenceEquals(informer, Slices) && _context.Options.FallbackToEndpoints && (error.IsForbidden || error.IsNotFound))
        {
            DiscoveryLog.FellBackToEndpoints(_context.Logger, Namespace, "*", error.StatusCode);
            _registry.Degrade(this);
        }

        // A Role may grant get/list/watch on named Services only (resourceNames): a per-Service watch (by name) is then
        // allowed where the namespace-wide list is not.
        if (ReferenceEquals(informer, Services) && error.IsForbidden)
        {
            DiscoveryLog.NamespaceServicesForbidden(_context.Logger, Namespace, error.StatusCode);
            _registry.Degrade(this);
        }

        return null;
    }

    private async Task StopCoreAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is the expected way out of the loops.
        }

        _stopping.Dispose();
    }

    private void ReindexSlices(InformerStore store)
    {
        var lists = new Dictionary<string, List<EndpointSliceProjection>>(StringComparer.Ordinal);
        foreach (var slice in store.Slices)
        {
            if (slice.ServiceName is { } service)
            {
                if (!lists.TryGetValue(service, out var list))
                {
                    lists[service] = list = [];
                }

                list.Add(slice);
            }
        }

        var index = ImmutableDictionary.CreateBuilder<string, ImmutableArray<EndpointSliceProjection>>(StringComparer.Ordinal);
        foreach (var (service, list) in lists)
        {
            list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            index[service] = [.. list];
        }

        // One swap: every Service goes from its old complete set to its new complete set.
        Volatile.Write(ref _slicesByService, index.ToImmutable());
        _slicesIndexed = true;
    }

    private (string? Before, string? After) ReindexSlice(string name, EndpointSliceProjection? replaced, EndpointSliceProjection? current)
    {
        var before = replaced?.ServiceName;
        var after = current?.ServiceName;
        var index = _slicesByService;
        if (before is not null && index.TryGetValue(before, out var old))
        {
            var remaining = old.RemoveAll(s => string.Equals(s.Name, name, StringComparison.Ordinal));
            index = remaining.IsEmpty ? index.Remove(before) : index.SetItem(before, remaining);
        }

        if (after is not null)
        {
            var slices = index.TryGetValue(after, out var existing) ? existing : [];
            index = index.SetItem(after, WithSlice(slices, current!));
        }

        Volatile.Write(ref _slicesByService, index);
        return (before, after);
    }

    /// <summary><paramref name="slices"/> (ordered by name) with <paramref name="slice"/> added, or replacing the one of its name.</summary>
    private static ImmutableArray<EndpointSliceProjection> WithSlice(ImmutableArray<EndpointSliceProjection> slices, EndpointSliceProjection slice)
    {
        for (var i = 0; i < slices.Length; i++)
        {
            var order = string.CompareOrdinal(slices[i].Name, slice.Name);
            if (order == 0)
            {
                return slices.SetItem(i, slice);
            }

            if (order > 0)
            {
                return slices.Insert(i, slice);
            }
        }

        return slices.Add(slice);
    }

    private async Task RebuildAllAsync(CancellationToken cancellationToken)
    {
        // Pairs with the full fence in AddMember: an informer that has just marked itself synced either sees a member
        // that joined meanwhile, or that member's own first build sees the informer synced. Volatile accesses alone
        // would let both miss each other (a store followed by a load may be reordered), leaving the member unsynced.
        Interlocked.MemoryBarrier();
        foreach (var member in Members.Values)
        {
            await member.RebuildSharedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask RebuildAsync(string service, CancellationToken cancellationToken)
        => Members.TryGetValue(service, out var member) ? member.RebuildSharedAsync(cancellationToken) : default;
}

/// <summary>The namespace watches of one resolver: joined by Service watchers, stopped when their last member leaves.</summary>
internal sealed class NamespaceWatchRegistry(WatcherContext context) : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, NamespaceWatch> _watches = new(StringComparer.Ordinal);
    // Namespaces whose EndpointSlices are not served or not permitted: their Services are watched per Service.
    private readonly HashSet<string> _perService = new(StringComparer.Ordinal);
    // WatchScope.Auto: the per-Service watchers of each namespace, counted against the threshold while the namespace has
    // no namespace watch, and moved onto it once it has synced.
    private readonly Dictionary<string, HashSet<ServiceWatcher>> _waiting = new(StringComparer.Ordinal);
    private readonly bool _auto = context.Options.WatchScope == WatchScope.Auto;
    private readonly int _threshold = context.Options.NamespaceWatchThreshold;
    private readonly List<Task> _stopping = [];
    private bool _disposed;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _watches.Count;
            }
        }
    }

    /// <summary>
    /// Adds <paramref name="watcher"/> to its namespace's watch (starting it), or returns null when the namespace is watched
    /// per Service. With <see cref="WatchScope.Auto"/>, a namespace gets its watch only when a watcher would be one more
    /// than the threshold; until then each is counted and watched per Service.
    /// </summary>
    public NamespaceWatch? Join(ServiceWatcher watcher)
    {
        lock (_lock)
        {
            var ns = watcher.Key.Namespace;
            if (_disposed || _perService.Contains(ns))
            {
                return null;
            }

            var started = false;
            if (!_watches.TryGetValue(ns, out var watch))
            {
                if (_auto)
                {
                    if (!_waiting.TryGetValue(ns, out var waiting))
                    {
                        _waiting[ns] = waiting = [];
                    }

                    if (waiting.Count < _threshold)
                    {
                        waiting.Add(watcher);
                        return null;
                    }

                    DiscoveryLog.NamespaceWatchStarting(context.Logger, ns, _threshold);
                }

                watch = new NamespaceWatch(ns, context, this);
                _watches[ns] = watch;
                started = true;
            }

            watcher.AttachShared(watch);
            watch.AddMember(watcher);
            if (started)
            {
                watch.Start();
            }

            return watch;
        }
    }

    /// <summary>Removes <paramref name="watcher"/>; the namespace watch stops when it was the last member.</summary>
    public void Leave(NamespaceWatch watch, ServiceWatcher watcher)
    {
        lock (_lock)
        {
            if (watch.RemoveMember(watcher) && _watches.TryGetValue(watch.Namespace, out var current) && ReferenceEquals(current, watch))
            {
                _watches.Remove(watch.Namespace);
                AddStopping(watch.StopAsync());
            }
        }
    }

    /// <summary>A per-Service watcher stopped: it no longer counts towards its namespace's threshold.</summary>
    public void Forget(ServiceWatcher watcher)
    {
        lock (_lock)
        {
            if (_waiting.TryGetValue(watcher.Key.Namespace, out var waiting) && waiting.Remove(watcher) && waiting.Count == 0)
            {
                _waiting.Remove(watcher.Key.Namespace);
            }
        }
    }

    /// <summary>
    /// <paramref name="watch"/> has synced: the per-Service watchers of its namespace that it can serve move onto it (each
    /// keeps its published snapshot until it has built from the namespace watch, then stops its own watches).
    /// </summary>
    public async ValueTask MoveWaitingAsync(NamespaceWatch watch, CancellationToken cancellationToken)
    {
        var moved = new List<ServiceWatcher>();
        lock (_lock)
        {
            if (_disposed || !_watches.TryGetValue(watch.Namespace, out var current) || !ReferenceEquals(current, watch)
                || !_waiting.Remove(watch.Namespace, out var waiting))
            {
                return;
            }

            foreach (var watcher in waiting)
            {
                if (watcher.TryMoveToShared(watch))
                {
                    watch.AddMember(watcher);
                    moved.Add(watcher);
                }
            }
        }

        foreach (var watcher in moved)
        {
            await watcher.CompleteMoveToSharedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The namespace's slices cannot be watched: every member goes back to per-Service watching, and so do later ones.</summary>
    public void Degrade(NamespaceWatch watch)
    {
        ImmutableDictionary<string, ServiceWatcher> members;
        lock (_lock)
        {
            _perService.Add(watch.Namespace);
            _waiting.Remove(watch.Namespace);
            if (_watches.TryGetValue(watch.Namespace, out var current) && ReferenceEquals(current, watch))
            {
                _watches.Remove(watch.Namespace);
            }

            members = watch.TakeMembers();
            // Not awaited here: this runs on the informer's own task, which the stop waits for.
            AddStopping(Task.Run(watch.StopAsync));
        }

        foreach (var member in members.Values)
        {
            member.SwitchToPerService(watch);
        }
    }

    /// <summary>Under the lock: remembers a stop for disposal to wait for, forgetting those already done (a failed one stays, to be observed there).</summary>
    private void AddStopping(Task stop)
    {
        _stopping.RemoveAll(static t => t.IsCompletedSuccessfully);
        _stopping.Add(stop);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] tasks;
        lock (_lock)
        {
            _disposed = true;
            tasks = [.. _stopping, .. _watches.Values.Select(w => w.StopAsync())];
            _watches.Clear();
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
