namespace Discovery.Internal;

/// <summary>
/// Keeps one Service's snapshot current: the coordinator over its endpoint sources. It decides which source serves (its
/// own per-Service informers, or its namespace's shared watch), builds from it, and hands the result to its
/// <see cref="SnapshotPublisher"/>. Shared by every caller of the Service; stopped by the resolver when idle.
/// </summary>
/// <remarks>
/// Which source serves is decided by <see cref="SourceScope"/> (the scope move as one state machine). Locks: see "Locks
/// and threads" in src/Discovery/README.md; the build turn (<c>_buildTurn</c>) is held across one build and publish.
/// </remarks>
internal sealed class ServiceWatcher : IAsyncDisposable
{
    private readonly WatcherContext _context;
    private readonly string? _podSelector;
    private readonly NamespaceWatchRegistry? _registry;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SubscriberList _subscribers = new();
    private readonly SnapshotPublisher _publisher;
    // Created by the first RBAC refusal (most watchers never see one).
    private AccessRecheck? _access;
    // Contact and failures of this watcher's own informers (and failures of its namespace watch, as they were reported).
    // Created by the first of them (Health): a watcher served by its namespace watch from the start reads that watch's
    // health, and usually never has one.
    private SourceHealth? _health;
    private readonly RejectionLog _rejections;
    private readonly long _startedAt;
    // Request path (Touch): lock-free.
    private long _lastUsed;
    // One build and publish at a time (async: a build may await node addresses).
    private readonly SemaphoreSlim _buildTurn = new(1, 1);
    private readonly SourceScope _scope;

    public ServiceWatcher(ServiceKey key, WatcherContext context, string? podSelector, bool pinned, NamespaceWatchRegistry? registry = null)
    {
        _registry = registry;
        Key = key;
        _context = context;
        _podSelector = podSelector;
        IsPinned = pinned;
        _publisher = new SnapshotPublisher(key, context, _subscribers);
        _rejections = new RejectionLog(context.Logger, key);
        _scope = new SourceScope(this, _stopping.Token);
        _startedAt = context.TimeProvider.GetTimestamp();
        _lastUsed = _startedAt;
        Tags = [new("k8s.namespace.name", key.Namespace), new("k8s.service.name", key.Name)];
    }

    public ServiceKey Key { get; }

    public bool IsPinned { get; set; }

    public KeyValuePair<string, object?>[] Tags { get; }

    /// <summary>The latest snapshot (possibly a fallback one), or <see langword="null"/> before the first.</summary>
    public ServiceEndpointSnapshot? Current => _publisher.Current;

    public TimeSpan SinceLastContact => _scope.Shared() is { } shared ? shared.Watch.SinceLastContact : OwnSinceLastContact;

    /// <summary>Whether the snapshots come (or are moving to come) from the namespace's shared watch.</summary>
    public bool IsShared => _scope.Shared() is not null;

    /// <summary>The namespace watch's source serving (or pending), if any: the watch's one instance, shared by its members.</summary>
    internal NamespaceSource? SharedSource => _scope.Shared();

    /// <summary>How many per-Service sources this watcher has started (none for a watcher its namespace watch served from the start).</summary>
    internal int PerServiceSourcesStarted => _scope.Started.Length;

    /// <summary>Whether this watcher has a health record of its own (created by its own informers' first contact or by a failure).</summary>
    internal bool HasOwnHealth => Volatile.Read(ref _health) is not null;

    public TimeSpan IdleFor => _context.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastUsed));

    /// <summary>Whether the watcher was stopped (idle); a lookup that still finds it must start a new one.</summary>
    public bool IsRetired => _subscribers.IsStopped;

    /// <summary>The watcher's stop (throws <see cref="ObjectDisposedException"/> once it has stopped).</summary>
    internal CancellationToken StoppingToken => _stopping.Token;

    internal WatcherContext Context => _context;

    /// <summary>The label selector when the Service is read from Pods (<see cref="KubernetesDiscoveryOptions.PodSelectors"/>), else null.</summary>
    internal string? PodSelector => _podSelector;

    /// <summary>The namespace watches this watcher may join or leave (null when every Service is watched on its own).</summary>
    internal NamespaceWatchRegistry? Registry => _registry;

    /// <summary>Since this watcher's own informers last heard from the API (since its start before the first contact).</summary>
    private TimeSpan OwnSinceLastContact => Volatile.Read(ref _health)?.SinceLastContact ?? _context.TimeProvider.GetElapsedTime(_startedAt);

    /// <summary>The health of this watcher's own informers, created by the first contact, failure or build error.</summary>
    private SourceHealth Health
    {
        get
        {
            if (Volatile.Read(ref _health) is { } health)
            {
                return health;
            }

            var created = new SourceHealth(_context.TimeProvider, _startedAt);
            return Interlocked.CompareExchange(ref _health, created, null) ?? created;
        }
    }

    /// <summary>Whether the Service is known to have no selector (its hand-made Endpoints are read too).</summary>
    internal bool IsKnownSelectorless => _scope.PerService()?.FindService()?.Info is { HasSelector: false };

    public void Start()
    {
        DiscoveryLog.WatcherStarted(_context.Logger, Key.Namespace, Key.Name);
        _context.Metrics.ActiveWatchers.Add(1);
        if (_podSelector is null && _registry is not null && _context.Options.Source == EndpointSourceKind.EndpointSlices && _registry.Join(this) is not null)
        {
            // The namespace may have synced already: build from what it holds (its own initial list builds otherwise).
            RebuildInBackground(null);
        }
        else
        {
            _scope.StartPerService();
        }
    }

    /// <summary>
    /// Marks the watcher as in use. The request path calls this from every thread: the timestamp is stored only when the
    /// stored one is at least <see cref="WatcherContext.TouchGranularity"/> old, so that steady traffic reads the shared
    /// cache line instead of writing it per request. <see cref="TryRetire"/> allows for the resulting under-statement.
    /// </summary>
    public void Touch()
    {
        var now = _context.TimeProvider.GetTimestamp();
        if (now - Volatile.Read(ref _lastUsed) >= _context.TouchGranularity)
        {
            Volatile.Write(ref _lastUsed, now);
        }
    }

    public async ValueTask<ServiceEndpointSnapshot> GetSnapshotAsync(CancellationToken cancellationToken)
    {
        Touch();
        if (Current is { } current)
        {
            return current;
        }

        await _publisher.WaitForInitialSyncAsync(_startedAt, cancellationToken).ConfigureAwait(false);
        if (Current is { } synced)
        {
            return synced;
        }

        if (Volatile.Read(ref _access) is { FaultIsForbidden: true } access && await access.RecheckAsync(cancellationToken).ConfigureAwait(false) is { } fixedNow)
        {
            return fixedNow;
        }

        if (FallbackSource.TryBuild(Key, _context) is { } fallback)
        {
            return _publisher.TryPublishFallback(fallback);
        }

        throw _publisher.Fault?.Invoke() ?? new KubernetesApiUnavailableException(Key, _context.Options.InitialSyncTimeout, Volatile.Read(ref _health)?.LastError);
    }

    public bool TryAddSubscriber(Action<ServiceEndpointSnapshot> subscriber) => _subscribers.TryAdd(subscriber);

    public void RemoveSubscriber(Action<ServiceEndpointSnapshot> subscriber)
    {
        _subscribers.Remove(subscriber);
        Touch();
    }

    /// <summary>Marks the watcher stopped if it is unpinned, unsubscribed and idle; the caller then disposes it.</summary>
    public bool TryRetire(TimeSpan idleTimeout)
    {
        // The last use may be up to one touch granularity later than the stored timestamp (Touch skips stores that would
        // change it by less): only retire when even that later use is past the idle timeout.
        if (!_subscribers.TryStop(() => !IsPinned && IdleFor >= idleTimeout + _context.TouchGranularityTime))
        {
            return false;
        }

        _publisher.SupersedeOnStop();
        return true;
    }

    public ServiceWatcherStatus GetStatus()
    {
        var snapshot = Current;
        var shared = _scope.Shared()?.Watch;
        var own = Volatile.Read(ref _health);
        var sinceContact = shared?.SinceLastContact ?? OwnSinceLastContact;
        var failing = shared?.IsFailing ?? own?.IsFailing ?? false;
        var lastError = shared is not null ? shared.LastError : own?.LastError;
        var stale = failing && sinceContact > _context.Options.StaleAfter;
        return new ServiceWatcherStatus(
            Key,
            _publisher.IsSynced,
            stale,
            snapshot?.Source,
            snapshot?.UsableEndpoints.Length ?? 0,
            sinceContact,
            _context.TimeProvider.GetElapsedTime(_startedAt),
            failing ? lastError?.Message : null);
    }

    public async ValueTask DisposeAsync()
    {
        _subscribers.Stop();
        _publisher.SupersedeOnStop();
        var shared = _scope.DetachShared();
        if (shared is not null)
        {
            _registry!.Leave(shared.Watch, this);
        }
        else
        {
            _registry?.Forget(this);
        }

        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var source in _scope.Started)
        {
            await source.DisposeAsync().ConfigureAwait(false);
        }

        _context.Metrics.ActiveWatchers.Add(-1);
        DiscoveryLog.WatcherStopped(_context.Logger, Key.Namespace, Key.Name, "stopped");
        _stopping.Dispose();
    }

    // ----- What sources report -----

    /// <summary>A source's data changed: rebuild if it is one this watcher listens to (current or pending).</summary>
    internal async ValueTask OnSourceChangedAsync(IEndpointSource source, CancellationToken cancellationToken)
    {
        if (_scope.IsListenedTo(source))
        {
            await RebuildAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal void OnSourceContact() => Health.RecordContact();

    internal void OnSourceFailure(IEndpointSource source, ResourceQuery query, Exception error)
    {
        if (_scope.IsListenedTo(source))
        {
            RecordFailure(query, error);
        }
    }

    /// <summary>A list or watch of the namespace watch failed: as for this watcher's own informers (faults before the first sync).</summary>
    internal void OnSharedFailure(ResourceQuery query, Exception error)
    {
        if (_scope.Shared() is not null)
        {
            RecordFailure(query, error);
        }
    }

    /// <summary>The namespace watch changed data of this Service (or re-listed): rebuild, publishing only a real change.</summary>
    internal async ValueTask OnSharedChangedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RebuildAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One Service's failed build (node addresses, say) must not hold back the namespace's other Services.
            Health.RecordBuildError(e);
        }
    }

    /// <summary>Rebuilds off the caller's task (a source, or none for the watcher itself); failures are recorded.</summary>
    internal void RebuildInBackground(IEndpointSource? source)
    {
        if (source is null || _scope.IsListenedTo(source))
        {
            _ = RebuildInBackgroundAsync();
        }
    }

    /// <summary>RBAC was fixed (<see cref="AccessRecheck"/>): the per-Service informers retry at once.</summary>
    internal void RetryNow() => _scope.PerService()?.RestartAll();

    private void RecordFailure(ResourceQuery query, Exception error)
    {
        Health.RecordFailure(error);
        if (_publisher.IsSynced)
        {
            return;
        }

        // Refusals do not heal by waiting: report them at once, naming every missing rule (and keep retrying, in case RBAC
        // is fixed; a lookup after the fix retries at once, see AccessRecheck).
        if (error is KubernetesStatusException { IsForbidden: true } forbidden)
        {
            var access = LazyInitializer.EnsureInitialized(ref _access, () => new AccessRecheck(this, _context, _publisher, _podSelector));
            access.OnForbidden(query, forbidden, _scope.PerService()?.Refusal);
        }
        else if (error is KubernetesStatusException { StatusCode: 401 })
        {
            var waited = _context.TimeProvider.GetElapsedTime(_startedAt);
            var key = Key;
            _publisher.Fault = () => new KubernetesApiUnavailableException(key, waited, error);
            _publisher.InitialOutcome.TrySetResult();
        }
    }

    // ----- Building -----

    /// <summary>What the sources build with (a value made per build, under the build turn; see <see cref="ServiceSnapshotBuilder"/>).</summary>
    internal ServiceSnapshotBuilder CreateBuilder() => new(Key, _context, _publisher, _rejections);

    private async Task RebuildInBackgroundAsync()
    {
        try
        {
            await RebuildAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            // The informers rebuild again on their next change; this one only unblocked a source.
            Health.RecordBuildError(e);
        }
    }

    private async Task RebuildAsync(CancellationToken cancellationToken)
    {
        PerServiceSource? replaced;
        await _buildTurn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            (var snapshot, replaced) = await _scope.BuildAsync(cancellationToken).ConfigureAwait(false);
            if (snapshot is not null)
            {
                _publisher.PublishIfChanged(snapshot);
            }
        }
        finally
        {
            _buildTurn.Release();
        }

        if (replaced is not null)
        {
            await replaced.StopAsync().ConfigureAwait(false);
        }
    }

    // ----- Scope: the registry's calls, handed to SourceScope (the state machine) -----

    /// <summary>Called by the registry, under its lock, when this watcher joins a namespace watch at its start.</summary>
    internal void AttachShared(NamespaceWatch watch) => _scope.AttachShared(watch);

    /// <summary>Called by the registry, under its lock, when the namespace watch has synced: step 1 of a move (see <see cref="SourceScope"/>).</summary>
    internal bool TryBeginMove(NamespaceWatch watch) => _scope.TryBeginMove(watch);

    /// <summary>After <see cref="TryBeginMove"/>, outside the registry's lock: the first build from the pending source (step 2).</summary>
    internal async Task CompleteMoveAsync(CancellationToken cancellationToken)
    {
        DiscoveryLog.MovedToNamespaceWatch(_context.Logger, Key.Namespace, Key.Name);
        await OnSharedChangedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The namespace's slices were refused: back to per-Service watching (step 4).</summary>
    internal void ReturnToPerService(NamespaceWatch from) => _scope.ReturnToPerService(from);
}
