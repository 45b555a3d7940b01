using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// The shared watch of one namespace (<see cref="WatchScope.Namespace"/>): one Service informer and one EndpointSlice
/// informer (every slice with a <c>kubernetes.io/service-name</c> label) for all the Services in use there. A change
/// rebuilds only the member watchers of the Services it concerns; a re-list rebuilds every member, each of which
/// publishes only if its content changed. Started by the first member, stopped when the last one leaves.
/// </summary>
/// <remarks>
/// One lock (<c>_lock</c>) guards the members, the slice index, which first lists have arrived, and the stop. Joining and
/// the first lists meet under it: a member added before a first list is rebuilt by that list; a member added after it
/// finds the list there on its own first build (<see cref="ServicesListed"/>, <see cref="SlicesSynced"/>).
/// </remarks>
internal sealed class NamespaceWatch : IResourceInformerOwner, IAsyncDisposable
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    private readonly WatcherContext _context;
    private readonly NamespaceWatchRegistry _registry;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SourceHealth _health;
    private readonly object _lock = new();
    private readonly List<Task> _loops = [];
    // Each Service's slices, ordered by name (written by the slice informer's task).
    private ImmutableDictionary<string, ImmutableArray<EndpointSliceProjection>> _slicesByService = ImmutableDictionary<string, ImmutableArray<EndpointSliceProjection>>.Empty.WithComparers(StringComparer.Ordinal);
    // Written by the registry (under its lock, then this one).
    private ImmutableDictionary<string, ServiceWatcher> _members = ImmutableDictionary<string, ServiceWatcher>.Empty.WithComparers(StringComparer.Ordinal);
    private bool _servicesListed;
    private bool _slicesIndexed;
    // Whether both first lists were reported to the registry (once: it then moves the waiting per-Service watchers here).
    private bool _syncReported;
    private Task? _stopped;

    public NamespaceWatch(string ns, WatcherContext context, NamespaceWatchRegistry registry)
    {
        Namespace = ns;
        _context = context;
        _registry = registry;
        _health = new SourceHealth(context.TimeProvider, context.TimeProvider.GetTimestamp());
        var key = new ServiceKey(ns, "*");
        Services = new ResourceInformer(new ResourceQuery(WatchedResource.Services, ns, null, null), key, context, this);
        Slices = new ResourceInformer(new ResourceQuery(WatchedResource.EndpointSlices, ns, ServiceNameLabel, null), key, context, this);
        Source = new NamespaceSource(this);
    }

    public string Namespace { get; }

    /// <summary>The endpoint source every member builds from (one for the whole namespace: it holds nothing per Service).</summary>
    public NamespaceSource Source { get; }

    public ResourceInformer Services { get; }

    public ResourceInformer Slices { get; }

    /// <summary>Whether the Services' first list has been applied (members added before it are rebuilt by it).</summary>
    public bool ServicesListed
    {
        get
        {
            lock (_lock)
            {
                return _servicesListed;
            }
        }
    }

    /// <summary>
    /// Whether the slice index holds the first list. Not <see cref="ResourceInformer.HasSynced"/>: that turns true before the
    /// index is built, and a build in between would publish a Service without its endpoints.
    /// </summary>
    public bool SlicesSynced
    {
        get
        {
            lock (_lock)
            {
                return _slicesIndexed;
            }
        }
    }

    public bool IsFailing => _health.IsFailing;

    public Exception? LastError => _health.LastError;

    public TimeSpan SinceLastContact => _health.SinceLastContact;

    public ImmutableDictionary<string, ServiceWatcher> Members
    {
        get
        {
            lock (_lock)
            {
                return _members;
            }
        }
    }

    public void Start()
    {
        var token = _stopping.Token;
        lock (_lock)
        {
            _loops.Add(Task.Run(() => Services.RunAsync(token), CancellationToken.None));
            _loops.Add(Task.Run(() => Slices.RunAsync(token), CancellationToken.None));
        }
    }

    /// <summary>Stops both informers (once); the task completes when their loops have ended.</summary>
    public Task StopAsync()
    {
        lock (_lock)
        {
            return _stopped ??= StopCoreAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public ServiceProjection? FindService(string name) => Services.Store.FindService(name);

    /// <summary>The slices of Service <paramref name="name"/>, ordered by name.</summary>
    public ImmutableArray<EndpointSliceProjection> SlicesOf(string name)
    {
        lock (_lock)
        {
            return _slicesByService.TryGetValue(name, out var slices) ? slices : [];
        }
    }

    /// <summary>Called by the registry under its lock.</summary>
    internal void AddMember(ServiceWatcher watcher)
    {
        lock (_lock)
        {
            _members = _members.SetItem(watcher.Key.Name, watcher);
        }
    }

    /// <summary>Called by the registry under its lock; whether no member is left.</summary>
    internal bool RemoveMember(ServiceWatcher watcher)
    {
        lock (_lock)
        {
            if (_members.TryGetValue(watcher.Key.Name, out var current) && ReferenceEquals(current, watcher))
            {
                _members = _members.Remove(watcher.Key.Name);
            }

            return _members.IsEmpty;
        }
    }

    /// <summary>Called by the registry under its lock: hands every member back (to be watched per Service).</summary>
    internal ImmutableDictionary<string, ServiceWatcher> TakeMembers()
    {
        lock (_lock)
        {
            var members = _members;
            _members = _members.Clear();
            return members;
        }
    }

    async ValueTask IResourceInformerOwner.OnChangedAsync(InformerChange change, CancellationToken cancellationToken)
    {
        var changed = change.Name;
        if (ReferenceEquals(change.Informer, Slices))
        {
            if (changed is null)
            {
                var (members, bothListed) = OnListed(change.After, services: false);
                await RebuildAllAsync(members, cancellationToken).ConfigureAwait(false);
                await ReportSyncedAsync(bothListed, cancellationToken).ConfigureAwait(false);
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
            var (members, bothListed) = OnListed(change.After, services: true);
            await RebuildAllAsync(members, cancellationToken).ConfigureAwait(false);
            await ReportSyncedAsync(bothListed, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RebuildAsync(changed, cancellationToken).ConfigureAwait(false);
        }
    }

    void IResourceInformerOwner.OnContact(ResourceInformer informer) => _health.RecordContact();

    void IResourceInformerOwner.OnFailure(ResourceInformer informer, Exception error)
    {
        _health.RecordFailure(error);
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

    /// <summary>
    /// A list arrived (Services, or slices — then reindexed): records it and returns the members to rebuild, and whether this
    /// is the moment both first lists are in (true once).
    /// </summary>
    private (ImmutableDictionary<string, ServiceWatcher> Members, bool BothListed) OnListed(InformerStore store, bool services)
    {
        var index = services ? null : IndexSlices(store);
        lock (_lock)
        {
            if (services)
            {
                _servicesListed = true;
            }
            else
            {
                // One swap: every Service goes from its old complete set to its new complete set.
                _slicesByService = index!;
                _slicesIndexed = true;
            }

            var bothListed = _servicesListed && _slicesIndexed && !_syncReported;
            _syncReported |= bothListed;
            return (_members, bothListed);
        }
    }

    /// <summary>Once both informers have their first list: the registry moves the namespace's per-Service watchers here (<see cref="WatchScope.Auto"/>).</summary>
    private async ValueTask ReportSyncedAsync(bool bothListed, CancellationToken cancellationToken)
    {
        if (bothListed)
        {
            await _registry.MoveWaitingAsync(this, cancellationToken).ConfigureAwait(false);
        }
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

    private static ImmutableDictionary<string, ImmutableArray<EndpointSliceProjection>> IndexSlices(InformerStore store)
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

        return index.ToImmutable();
    }

    private (string? Before, string? After) ReindexSlice(string name, EndpointSliceProjection? replaced, EndpointSliceProjection? current)
    {
        var before = replaced?.ServiceName;
        var after = current?.ServiceName;
        lock (_lock)
        {
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

            _slicesByService = index;
        }

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

    private static async Task RebuildAllAsync(ImmutableDictionary<string, ServiceWatcher> members, CancellationToken cancellationToken)
    {
        foreach (var member in members.Values)
        {
            await member.OnSharedChangedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask RebuildAsync(string service, CancellationToken cancellationToken)
        => Members.TryGetValue(service, out var member) ? member.OnSharedChangedAsync(cancellationToken) : default;
}
