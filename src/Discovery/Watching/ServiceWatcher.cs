using System.Collections.Immutable;
using k8s;
using k8s.Models;
using Polly;
using Polly.Retry;

namespace Discovery.Internal;

/// <summary>
/// Watches one Service (its Service object and its EndpointSlices, Endpoints or Pods) and publishes immutable snapshots
/// with a reference swap. Shared by every caller of the Service; stopped by the resolver when idle.
/// </summary>
internal sealed class ServiceWatcher : IResourceInformerOwner, IAsyncDisposable
{
    // The longest wait between probes of EndpointSlices refused by RBAC (see ReturnToSlicesWhenAllowedAsync).
    private static readonly TimeSpan SlicesProbeMaxDelay = TimeSpan.FromMinutes(5);

    private readonly WatcherContext _context;
    private readonly string? _podSelector;
    private readonly CancellationTokenSource _stopping = new();
    // Stops this watcher's own informers (linked to _stopping; created with the first of them, so a watcher that only ever
    // builds from a namespace watch has none). Replaced when they stop because the watcher moved onto a namespace watch
    // (WatchScope.Auto); the replaced ones are disposed with the watcher.
    private CancellationTokenSource? _own;
    private List<CancellationTokenSource>? _ownStopped;
    private readonly SemaphoreSlim _buildLock = new(1, 1);
    // Completed by the first snapshot or a fault; replaced when a lookup finds a refusal fixed and retries (RecheckAccessAsync).
    private volatile TaskCompletionSource _initialOutcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private readonly List<Task> _loops = [];
    private readonly RejectionLog _rejections;
    private ResourceInformer? _serviceInformer;
    private ResourceInformer? _endpointInformer;
    private ResourceInformer? _mirrorInformer;
    private volatile bool _mirrorFailed;
    private ServiceEndpointSnapshot? _snapshot;
    private Action<ServiceEndpointSnapshot>[] _subscribers = [];
    private long _version;
    private long _lastUsed;
    private long _lastContact;
    private readonly long _startedAt;
    private volatile bool _synced;
    private volatile bool _failing;
    private volatile Exception? _lastError;
    // A factory, not an instance: concurrent callers each get their own exception (a thrown instance's stack trace is mutated).
    private volatile Func<DiscoveryException>? _fault;
    private volatile bool _initialSyncTimedOut;
    private volatile bool _endpointsFallbackFrom403;
    private volatile string? _slicesRefusedVerb;
    private volatile string? _slicesRefusedMessage;
    // RBAC refusals before the first sync: whether the fault is one, when RBAC was last probed, and the probe running.
    private volatile bool _faultIsForbidden;
    private long _accessCheckedAt;
    private Task<ServiceEndpointSnapshot?>? _accessCheck;
    private int _slicesProbeRunning;
    private int _reportRunning;
    private bool _disposed;
    private readonly NamespaceWatchRegistry? _registry;
    // In WatchScope.Namespace: the namespace watch this Service's snapshots are built from; null when watched per Service.
    private volatile NamespaceWatch? _shared;
    // WatchScope.Auto, moving onto a namespace watch: a build from it agreed with the published snapshot, so the own
    // informers can stop. Until then the two sources may each be behind the other, and the own ones are kept.
    private volatile bool _moveAgreed;

    public ServiceWatcher(ServiceKey key, WatcherContext context, string? podSelector, bool pinned, NamespaceWatchRegistry? registry = null)
    {
        _registry = registry;
        Key = key;
        _context = context;
        _podSelector = podSelector;
        IsPinned = pinned;
        _rejections = new RejectionLog(context.Logger, key);
        _startedAt = context.TimeProvider.GetTimestamp();
        _lastUsed = _startedAt;
        _lastContact = _startedAt;
        Tags = [new("k8s.namespace.name", key.Namespace), new("k8s.service.name", key.Name)];
    }

    public ServiceKey Key { get; }

    public bool IsPinned { get; set; }

    public KeyValuePair<string, object?>[] Tags { get; }

    /// <summary>The latest snapshot (possibly a fallback one), or <see langword="null"/> before the first.</summary>
    public ServiceEndpointSnapshot? Current => Volatile.Read(ref _snapshot);

    public TimeSpan SinceLastContact => _shared is { } shared ? shared.SinceLastContact : _context.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastContact));

    /// <summary>Whether the snapshots come from the namespace's shared watch (<see cref="WatchScope.Namespace"/>).</summary>
    public bool IsShared => _shared is not null;

    private bool IsFailing => _shared is { } shared ? shared.IsFailing : _failing;

    public TimeSpan IdleFor => _context.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastUsed));

    public void Start()
    {
        DiscoveryLog.WatcherStarted(_context.Logger, Key.Namespace, Key.Name);
        _context.Metrics.ActiveWatchers.Add(1);
        if (_podSelector is not null)
        {
            StartInformer(ref _endpointInformer, new ResourceQuery(WatchedResource.Pods, Key.Namespace, _podSelector, null));
        }
        else if (_registry is not null && _context.Options.Source == EndpointSourceKind.EndpointSlices && _registry.Join(this) is not null)
        {
            // The namespace may have synced already: build from what it holds (its own initial list builds otherwise).
            _ = RebuildInBackgroundAsync();
        }
        else
        {
            StartInformer(ref _serviceInformer, new ResourceQuery(WatchedResource.Services, Key.Namespace, null, "metadata.name=" + Key.Name));
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

        var timeout = _context.Options.InitialSyncTimeout;
        if (_fault is null && !_initialSyncTimedOut)
        {
            var remaining = timeout - _context.TimeProvider.GetElapsedTime(_startedAt);
            try
            {
                if (remaining <= TimeSpan.Zero)
                {
                    throw new TimeoutException();
                }

                await _initialOutcome.Task.WaitAsync(remaining, _context.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Later lookups fail fast instead of each waiting the whole timeout again while the API stays down.
                _initialSyncTimedOut = true;
            }
        }

        if (Current is { } synced)
        {
            return synced;
        }

        if (_faultIsForbidden && await RecheckAccessAsync(cancellationToken).ConfigureAwait(false) is { } fixedNow)
        {
            return fixedNow;
        }

        if (TryPublishFallback() is { } fallback)
        {
            return fallback;
        }

        throw _fault?.Invoke() ?? new KubernetesApiUnavailableException(Key, timeout, _lastError);
    }

    public bool TryAddSubscriber(Action<ServiceEndpointSnapshot> subscriber)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            _subscribers = [.. _subscribers, subscriber];
            return true;
        }
    }

    public void RemoveSubscriber(Action<ServiceEndpointSnapshot> subscriber)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => s != subscriber);
            Touch();
        }
    }

    /// <summary>Whether the watcher was stopped (idle); a lookup that still finds it must start a new one.</summary>
    public bool IsRetired
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    /// <summary>Marks the watcher stopped if it is unpinned, unsubscribed and idle; the caller then disposes it.</summary>
    public bool TryRetire(TimeSpan idleTimeout)
    {
        lock (_gate)
        {
            // The last use may be up to one touch granularity later than the stored timestamp (Touch skips stores that
            // would change it by less): only retire when even that later use is past the idle timeout.
            if (_disposed || IsPinned || _subscribers.Length > 0 || IdleFor < idleTimeout + _context.TouchGranularityTime)
            {
                return false;
            }

            _disposed = true;
        }

        SupersedeOnStop();
        return true;
    }

    public ServiceWatcherStatus GetStatus()
    {
        var snapshot = Current;
        var sinceContact = SinceLastContact;
        var failing = IsFailing;
        var lastError = _shared is { } shared ? shared.LastError : _lastError;
        var stale = failing && sinceContact > _context.Options.StaleAfter;
        return new ServiceWatcherStatus(
            Key,
            _synced,
            stale,
            snapshot?.Source,
            snapshot?.UsableEndpoints.Length ?? 0,
            sinceContact,
            _context.TimeProvider.GetElapsedTime(_startedAt),
            failing ? lastError?.Message : null);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        SupersedeOnStop();
        if (_shared is { } shared)
        {
            _shared = null;
            _registry!.Leave(shared, this);
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
        Task[] loops;
        lock (_gate)
        {
            loops = [.. _loops];
        }

        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is the expected way out of the loops.
        }

        _context.Metrics.ActiveWatchers.Add(-1);
        DiscoveryLog.WatcherStopped(_context.Logger, Key.Namespace, Key.Name, "stopped");
        lock (_gate)
        {
            _own?.Dispose();
            foreach (var stopped in _ownStopped ?? [])
            {
                stopped.Dispose();
            }
        }

        _stopping.Dispose();
    }

    async ValueTask IResourceInformerOwner.OnChangedAsync(InformerChange change, CancellationToken cancellationToken)
    {
        var informer = change.Informer;
        if (!IsOwn(informer))
        {
            // An informer stopped when the watcher moved onto a namespace watch, delivering its last change.
            return;
        }

        if (ReferenceEquals(informer, _serviceInformer) && FindService() is { } service && !service.Info.IsExternalName)
        {
            // The endpoint watch starts only once the Service exists: a host that names no Service costs one watch.
            var resource = _context.Options.Source == EndpointSourceKind.Endpoints ? WatchedResource.Endpoints : WatchedResource.EndpointSlices;
            if (!service.Info.HasSelector && resource == WatchedResource.EndpointSlices && _endpointInformer is null)
            {
                // A selectorless Service's hand-made Endpoints reach slices only through the mirroring controller,
                // which not every cluster runs: read the Endpoints too and use them when no slice exists. Started
                // first, so that the slices never publish an empty set without it.
                StartInformer(ref _mirrorInformer, EndpointQuery(WatchedResource.Endpoints));
            }

            StartInformer(ref _endpointInformer, EndpointQuery(resource));
        }

        await RebuildAsync(cancellationToken).ConfigureAwait(false);
    }

    void IResourceInformerOwner.OnContact(ResourceInformer informer)
    {
        Volatile.Write(ref _lastContact, _context.TimeProvider.GetTimestamp());
        _failing = false;
    }

    void IResourceInformerOwner.OnFailure(ResourceInformer informer, Exception error)
    {
        if (!IsOwn(informer))
        {
            return;
        }

        if (ReferenceEquals(informer, _mirrorInformer))
        {
            // The mirror is a best effort: its failure must not hold back the slices.
            if (!_mirrorFailed && !informer.HasSynced)
            {
                _mirrorFailed = true;
                _ = RebuildInBackgroundAsync();
            }

            return;
        }

        RecordFailure(informer.Query, error);
    }

    private void RecordFailure(ResourceQuery query, Exception error)
    {
        _lastError = error;
        _failing = true;
        if (_synced)
        {
            return;
        }

        // Refusals do not heal by waiting: report them at once, naming every missing rule (and keep retrying, in case RBAC
        // is fixed; a lookup after the fix retries at once, see RecheckAccessAsync).
        if (error is KubernetesStatusException { IsForbidden: true } forbidden)
        {
            var fromSlices = query.Resource == WatchedResource.Endpoints && _endpointsFallbackFrom403;
            var (resource, group) = fromSlices ? ("endpointslices", "discovery.k8s.io") : (query.ResourceName, query.ApiGroup);
            var verb = (fromSlices ? _slicesRefusedVerb : forbidden.Verb) ?? "list";
            var serverMessage = (fromSlices ? _slicesRefusedMessage : null) ?? forbidden.ServerMessage;
            if (_fault is null)
            {
                _fault = () => new KubernetesForbiddenException(Key, verb, resource, group, serverMessage, error);
            }

            _faultIsForbidden = true;
            if (Interlocked.Exchange(ref _reportRunning, 1) == 0)
            {
                // One probe at a time: every retry of every informer lands here while RBAC refuses. The probe releases the
                // lookups waiting now, never those of a later retry (RunAccessCheckAsync installs a new outcome after a fix,
                // and a probe still running from before it must not end that wait before the retry has synced).
                _ = ReportForbiddenAsync(verb, resource, group, serverMessage, error, _initialOutcome);
            }
        }
        else if (error is KubernetesStatusException { StatusCode: 401 })
        {
            var waited = _context.TimeProvider.GetElapsedTime(_startedAt);
            _fault = () => new KubernetesApiUnavailableException(Key, waited, error);
            _initialOutcome.TrySetResult();
        }
    }

    ResourceQuery? IResourceInformerOwner.GetFallback(ResourceInformer informer, KubernetesStatusException error)
    {
        if (!IsOwn(informer) || informer.Query.Resource != WatchedResource.EndpointSlices || !_context.Options.FallbackToEndpoints || !(error.IsForbidden || error.IsNotFound))
        {
            return null;
        }

        _endpointsFallbackFrom403 = error.IsForbidden;
        _slicesRefusedVerb = error.Verb;
        _slicesRefusedMessage = error.ServerMessage;
        DiscoveryLog.FellBackToEndpoints(_context.Logger, Key.Namespace, Key.Name, error.StatusCode);
        if (error.IsForbidden && Interlocked.Exchange(ref _slicesProbeRunning, 1) == 0)
        {
            // A refusal may be transient (an API server's authorizer warming up after a restart): keep asking.
            _ = ReturnToSlicesWhenAllowedAsync();
        }

        return EndpointQuery(WatchedResource.Endpoints);
    }

    /// <summary>
    /// After a 403 sent the watcher to core/v1 Endpoints: probes EndpointSlices (a one-item list) with jittered exponential
    /// back-off until RBAC allows them again, then switches the endpoint informer back. Its slices list swaps in whole, and
    /// nothing is built from it before, so readers keep the Endpoints-based set until the slice-based one replaces it.
    /// </summary>
    /// <remarks>
    /// A transient refusal (an authorizer warming up) ends within seconds and the back-off starts at the base delay; a Role
    /// that grants only Endpoints refuses for good, so the delay grows to at least 5 minutes rather than the reconnect cap:
    /// a thousand such Services then cost a few list requests a second, not dozens. A Role granting list but not watch
    /// (rare) sends the watcher back to Endpoints at the watch, and the probing starts over.
    /// </remarks>
    private async Task ReturnToSlicesWhenAllowedAsync()
    {
        var options = _context.Options;
        var token = _stopping.Token;
        var pipeline = new ResiliencePipelineBuilder<bool> { TimeProvider = _context.TimeProvider }
            .AddRetry(new RetryStrategyOptions<bool>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null and not OperationCanceledException || args.Outcome is { Exception: null, Result: false }),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Randomizer = _context.Random,
                Delay = options.ReconnectBaseDelay,
                MaxDelay = options.ReconnectMaxDelay > SlicesProbeMaxDelay ? options.ReconnectMaxDelay : SlicesProbeMaxDelay,
            })
            .Build();
        try
        {
            // The refusal has just happened: the first probe waits one base delay too.
            await Task.Delay(options.ReconnectBaseDelay, _context.TimeProvider, token).ConfigureAwait(false);
            await pipeline.ExecuteAsync(
                async ct => await _context.Api.IsAllowedAsync(WatchedResource.EndpointSlices, Key.Namespace, Key.Name, "list", ct).ConfigureAwait(false) == true,
                token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        finally
        {
            Volatile.Write(ref _slicesProbeRunning, 0);
        }

        if (_endpointInformer is { Query.Resource: WatchedResource.Endpoints } informer && _endpointsFallbackFrom403 && IsOwn(informer))
        {
            _endpointsFallbackFrom403 = false;
            DiscoveryLog.ReturningToEndpointSlices(_context.Logger, Key.Namespace, Key.Name);
            informer.Restart(EndpointQuery(WatchedResource.EndpointSlices));
        }
    }

    /// <summary>Probes every rule discovery of this Service needs, then reports the refusal with the missing ones and releases waiting lookups.</summary>
    private async Task ReportForbiddenAsync(string verb, string resource, string group, string? serverMessage, Exception error, TaskCompletionSource waiting)
    {
        try
        {
            var missing = await AccessProbe.FindMissingAsync(_context, Key, _podSelector, FindService()?.Info is { HasSelector: false }, _stopping.Token).ConfigureAwait(false);
            Volatile.Write(ref _accessCheckedAt, _context.TimeProvider.GetTimestamp());
            // A probe that began before a retry (see RunAccessCheckAsync) reports nothing: its answer may predate the fix.
            if (missing is { Count: > 0 } && !_synced && ReferenceEquals(waiting, _initialOutcome))
            {
                _fault = () => new KubernetesForbiddenException(Key, verb, resource, group, missing, serverMessage, error);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping.
        }
        finally
        {
            Volatile.Write(ref _reportRunning, 0);
            waiting.TrySetResult();
        }
    }

    /// <summary>
    /// A lookup while RBAC refuses discovery: at most once a second, probes again. When nothing is missing any more (the
    /// rules were applied), the informers retry at once instead of waiting out their back-off, and the lookup waits for the
    /// first sync as a first lookup would; otherwise the fault is refreshed. Concurrent lookups share one check.
    /// </summary>
    private Task<ServiceEndpointSnapshot?> RecheckAccessAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_accessCheck is { IsCompleted: false } running)
            {
                return running.WaitAsync(cancellationToken);
            }

            if (_context.TimeProvider.GetElapsedTime(Volatile.Read(ref _accessCheckedAt)) < TimeSpan.FromSeconds(1))
            {
                return Task.FromResult<ServiceEndpointSnapshot?>(null);
            }

            // Started outside the lock: the probe's requests are sent on the thread pool.
            _accessCheck = Task.Run(RunAccessCheckAsync, CancellationToken.None);
            return _accessCheck.WaitAsync(cancellationToken);
        }
    }

    private async Task<ServiceEndpointSnapshot?> RunAccessCheckAsync()
    {
        CancellationToken stopping;
        try
        {
            stopping = _stopping.Token;
        }
        catch (ObjectDisposedException)
        {
            // Stopped meanwhile: the caller reports the fault it has.
            return null;
        }

        var missing = await AccessProbe.FindMissingAsync(_context, Key, _podSelector, FindService()?.Info is { HasSelector: false }, stopping).ConfigureAwait(false);
        Volatile.Write(ref _accessCheckedAt, _context.TimeProvider.GetTimestamp());
        if (missing is null || _synced)
        {
            return Current;
        }

        if (missing.Count > 0)
        {
            var previous = _fault?.Invoke() as KubernetesForbiddenException;
            var (verb, resource, group) = previous is null ? ("list", missing[0].Resource, missing[0].ApiGroup) : (previous.Verb, previous.Resource, previous.ApiGroup);
            _fault = () => new KubernetesForbiddenException(Key, verb, resource, group, missing, null, previous?.InnerException);
            return null;
        }

        // RBAC allows everything now: retry at once and wait for the first sync (bounded as a first lookup is).
        var outcome = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _initialOutcome = outcome;
        _fault = null;
        _faultIsForbidden = false;
        _initialSyncTimedOut = false;
        ResourceInformer?[] informers;
        lock (_gate)
        {
            informers = [_serviceInformer, _endpointInformer, _mirrorInformer];
        }

        foreach (var informer in informers)
        {
            if (informer is null)
            {
                continue;
            }

            if (ReferenceEquals(informer, _endpointInformer) && informer.Query.Resource == WatchedResource.Endpoints && _endpointsFallbackFrom403 && _context.Options.Source == EndpointSourceKind.EndpointSlices)
            {
                _endpointsFallbackFrom403 = false;
                informer.Restart(EndpointQuery(WatchedResource.EndpointSlices));
            }
            else
            {
                informer.Restart();
            }
        }

        try
        {
            await outcome.Task.WaitAsync(_context.Options.InitialSyncTimeout, _context.TimeProvider, stopping).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _initialSyncTimedOut = true;
        }
        catch (OperationCanceledException)
        {
            // Stopped meanwhile.
        }

        return Current;
    }

    /// <summary>Called by the registry, under its lock, when this watcher joins a namespace watch.</summary>
    internal void AttachShared(NamespaceWatch watch) => _shared = watch;

    /// <summary>
    /// Called by the registry, under its lock, when the namespace watch of this per-Service watcher's namespace has synced
    /// (<see cref="WatchScope.Auto"/>): whether the watcher can be served by it and now builds from it. Services the
    /// namespace watch does not serve (pod selectors, selectorless Services, Endpoints as the source) stay per Service.
    /// </summary>
    internal bool TryMoveToShared(NamespaceWatch watch)
    {
        lock (_gate)
        {
            if (_disposed || _shared is not null || _podSelector is not null || _mirrorInformer is not null
                || _endpointInformer?.Query.Resource is WatchedResource.Endpoints || Current?.ServiceInfo is { HasSelector: false, IsExternalName: false })
            {
                return false;
            }

            _shared = watch;
            return true;
        }
    }

    /// <summary>
    /// Completes <see cref="TryMoveToShared"/>: builds from the namespace watch, and stops this watcher's own informers once
    /// that agrees with the snapshot published so far (which readers keep seeing throughout; see <see cref="BuildAsync"/>).
    /// </summary>
    internal async Task CompleteMoveToSharedAsync(CancellationToken cancellationToken)
    {
        DiscoveryLog.MovedToNamespaceWatch(_context.Logger, Key.Namespace, Key.Name);
        await RebuildSharedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends a move onto the namespace watch once a build from it agreed with the published snapshot: stops this watcher's
    /// own informers.
    /// </summary>
    private async Task StopOwnInformersAsync()
    {
        CancellationTokenSource? stopped;
        lock (_gate)
        {
            if (_disposed || _shared is null || !_moveAgreed)
            {
                // Sent back meanwhile (a selectorless Service, or the namespace's slices refused): the own informers stay.
                return;
            }

            _moveAgreed = false;
            stopped = _own;
            _own = null;
            if (stopped is not null)
            {
                (_ownStopped ??= []).Add(stopped);
            }

            _serviceInformer = null;
            _endpointInformer = null;
            _mirrorInformer = null;
        }

        if (stopped is null)
        {
            return;
        }

        try
        {
            await stopped.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The watcher was stopped meanwhile: cancelling its stop token already cancelled these informers.
        }
    }

    /// <summary>A list or watch of the namespace watch failed: as for this watcher's own informers (faults before the first sync).</summary>
    internal void OnSharedFailure(ResourceQuery query, Exception error)
    {
        if (_shared is not null)
        {
            RecordFailure(query, error);
        }
    }

    /// <summary>The namespace watch changed data of this Service (or re-listed): rebuild, publishing only a real change.</summary>
    internal async ValueTask RebuildSharedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RebuildAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One Service's failed build (node addresses, say) must not hold back the namespace's other Services.
            _lastError = e;
        }
    }

    /// <summary>
    /// Leaves the namespace watch for per-Service watching (a selectorless Service, or slices refused in the namespace).
    /// The published snapshot stays until the own informers have synced.
    /// </summary>
    internal void SwitchToPerService(NamespaceWatch from)
    {
        lock (_gate)
        {
            if (_disposed || !ReferenceEquals(_shared, from))
            {
                return;
            }

            _shared = null;
            _moveAgreed = false;
        }

        DiscoveryLog.WatchingPerService(_context.Logger, Key.Namespace, Key.Name);
        StartInformer(ref _serviceInformer, new ResourceQuery(WatchedResource.Services, Key.Namespace, null, "metadata.name=" + Key.Name));
    }

    private ResourceQuery EndpointQuery(WatchedResource resource) => resource == WatchedResource.Endpoints
        ? new ResourceQuery(WatchedResource.Endpoints, Key.Namespace, null, "metadata.name=" + Key.Name)
        : new ResourceQuery(WatchedResource.EndpointSlices, Key.Namespace, "kubernetes.io/service-name=" + Key.Name, null);

    private void StartInformer(ref ResourceInformer? slot, ResourceQuery query)
    {
        lock (_gate)
        {
            // A watcher on a namespace watch starts none, unless it is still moving there: its own informers then run until
            // the two sources agree, and a Service they see appear needs its endpoint informer for that.
            if (slot is not null || _disposed || (_shared is not null && _own is null))
            {
                return;
            }

            var informer = new ResourceInformer(query, Key, _context, this);
            slot = informer;
            _own ??= CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            var token = _own.Token;
            _loops.Add(Task.Run(() => informer.RunAsync(token), CancellationToken.None));
        }
    }

    private bool IsOwn(ResourceInformer informer)
        => ReferenceEquals(informer, _serviceInformer) || ReferenceEquals(informer, _endpointInformer) || ReferenceEquals(informer, _mirrorInformer);

    private ServiceProjection? FindService()
    {
        if (_serviceInformer is null)
        {
            return null;
        }

        return _serviceInformer.Store.FindService(Key.Name);
    }

    /// <summary>
    /// <paramref name="endpoints"/> with unchanged members replaced by the published snapshot's instances (state that
    /// callers key on the instance, such as passive health and in-flight counts, survives unrelated changes to the set).
    /// </summary>
    private ImmutableArray<ServiceEndpoint> Intern(ImmutableArray<ServiceEndpoint> endpoints)
        => EndpointInterner.Reuse(Current?.Endpoints ?? [], endpoints);

    private async Task RebuildInBackgroundAsync()
    {
        try
        {
            await RebuildAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (Exception e)
        {
            // The informers rebuild again on their next change; this one only unblocked the slices.
            _lastError = e;
        }
    }

    private async Task RebuildAsync(CancellationToken cancellationToken)
    {
        await BuildAndPublishAsync(cancellationToken).ConfigureAwait(false);
        if (_moveAgreed)
        {
            await StopOwnInformersAsync().ConfigureAwait(false);
        }
    }

    private async Task BuildAndPublishAsync(CancellationToken cancellationToken)
    {
        await _buildLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = await BuildAsync(cancellationToken).ConfigureAwait(false);
            if (snapshot is null)
            {
                return;
            }

            if (Current is { } current && SnapshotContent.IsSame(current, snapshot))
            {
                // A re-list, a resumed watch or an irrelevant Service edit: the informer has already recorded the contact
                // (that is what staleness and age report); readers and subscribers keep the snapshot they have.
                DiscoveryLog.SnapshotUnchanged(_context.Logger, Key.Namespace, Key.Name, current.Version, snapshot.ResourceVersion);
                return;
            }

            Publish(snapshot);
        }
        finally
        {
            _buildLock.Release();
        }
    }

    private async ValueTask<ServiceEndpointSnapshot?> BuildAsync(CancellationToken cancellationToken)
    {
        if (_shared is { } shared)
        {
            var built = await BuildSharedAsync(shared, cancellationToken).ConfigureAwait(false);
            if (built is null)
            {
                return null;
            }

            if (!ReferenceEquals(_shared, shared))
            {
                // Sent back to per-Service watching during the build (the namespace's slices refused).
                return await BuildOwnAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_serviceInformer is null)
            {
                return built;
            }

            // Moving onto the namespace watch while the own informers still run. Its first list may be older than what they
            // published (or newer): nothing tells which, and publishing the older one would take readers back in time. The
            // move completes on the first build where the two agree; until then the own informers' view is published.
            if (Current is not { } current || SnapshotContent.IsSame(current, built))
            {
                _moveAgreed = true;
                return built;
            }

            var own = await BuildOwnAsync(cancellationToken).ConfigureAwait(false);
            _moveAgreed = own is not null && SnapshotContent.IsSame(own, built);
            return own;
        }

        return await BuildOwnAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds from this watcher's own informers (per-Service watching).</summary>
    private async ValueTask<ServiceEndpointSnapshot?> BuildOwnAsync(CancellationToken cancellationToken)
    {
        var options = _context.Options;
        var now = _context.TimeProvider.GetUtcNow();
        var endpointInformer = _endpointInformer;
        if (_podSelector is not null)
        {
            if (endpointInformer is not { HasSynced: true })
            {
                return null;
            }

            var pods = KubernetesObjectConverter.FromPods(endpointInformer.Store.Pods, _rejections);
            return new ServiceEndpointSnapshot(Key, true, null, EndpointSourceKind.Pods, Intern(pods), _version + 1, endpointInformer.ResourceVersion, now, options.IncludeNotReadyEndpoints);
        }

        if (_serviceInformer is not { HasSynced: true } serviceInformer)
        {
            return null;
        }

        var service = FindService();
        if (service is null)
        {
            var sourceKind = endpointInformer?.Query.Resource == WatchedResource.Endpoints ? EndpointSourceKind.Endpoints : EndpointSourceKind.EndpointSlices;
            return new ServiceEndpointSnapshot(Key, false, null, sourceKind, [], _version + 1, serviceInformer.ResourceVersion, now, options.IncludeNotReadyEndpoints);
        }

        _rejections.Report(service.Issues);
        var info = service.Info;
        if (info.IsExternalName)
        {
            return BuildExternalName(info, now);
        }

        if (endpointInformer is not { HasSynced: true })
        {
            return null;
        }

        ImmutableArray<ServiceEndpoint> endpoints;
        EndpointSourceKind source;
        if (endpointInformer.Query.Resource == WatchedResource.Endpoints)
        {
            // Just switched from slices (SwitchTo): what the informer holds is still slices until the Endpoints list
            // arrives; building now would publish an empty set.
            if (endpointInformer.Store is not { Resource: WatchedResource.Endpoints } endpointsStore)
            {
                return null;
            }

            source = EndpointSourceKind.Endpoints;
            endpoints = KubernetesObjectConverter.FromEndpoints(endpointsStore.Endpoints.Where(e => e.Metadata?.Name == Key.Name), _rejections);
        }
        else
        {
            source = EndpointSourceKind.EndpointSlices;
            endpoints = KubernetesObjectConverter.Merge(endpointInformer.Store.Slices.OrderBy(s => s.Name, StringComparer.Ordinal), _rejections);
            if (_mirrorInformer is { } mirror && !_mirrorFailed)
            {
                if (!mirror.HasSynced)
                {
                    return null;
                }

                if (endpoints.IsEmpty)
                {
                    source = EndpointSourceKind.Endpoints;
                    endpoints = KubernetesObjectConverter.FromEndpoints(mirror.Store.Endpoints.Where(e => e.Metadata?.Name == Key.Name), _rejections);
                }
            }
        }

        endpoints = await ApplyAddressModeAsync(info, endpoints, cancellationToken).ConfigureAwait(false);
        return new ServiceEndpointSnapshot(Key, true, info, source, Intern(endpoints), _version + 1, endpointInformer.ResourceVersion, now, options.IncludeNotReadyEndpoints);
    }

    /// <summary>An ExternalName Service: its one "endpoint" is the external name, whichever source watches it.</summary>
    private ServiceEndpointSnapshot BuildExternalName(KubernetesServiceInfo info, DateTimeOffset now)
    {
        var ports = info.Ports.Select(p => new EndpointPort(p.Name, p.Port, p.Protocol, p.AppProtocol)).ToImmutableArray();
        ImmutableArray<ServiceEndpoint> external = string.IsNullOrEmpty(info.ExternalName)
            ? []
            : [new ServiceEndpoint(info.ExternalName.TrimEnd('.'), KubernetesObjectConverter.FamilyOf(info.ExternalName), ports, true, true, false)];
        return new ServiceEndpointSnapshot(Key, true, info, EndpointSourceKind.ExternalName, Intern(external), _version + 1, info.ResourceVersion, now, _context.Options.IncludeNotReadyEndpoints);
    }

    private async ValueTask<ServiceEndpointSnapshot?> BuildSharedAsync(NamespaceWatch shared, CancellationToken cancellationToken)
    {
        var options = _context.Options;
        var now = _context.TimeProvider.GetUtcNow();
        if (!shared.Services.HasSynced)
        {
            return null;
        }

        var service = shared.FindService(Key.Name);
        if (service is null)
        {
            return new ServiceEndpointSnapshot(Key, false, null, EndpointSourceKind.EndpointSlices, [], _version + 1, shared.Services.ResourceVersion, now, options.IncludeNotReadyEndpoints);
        }

        _rejections.Report(service.Issues);
        var info = service.Info;
        if (info.IsExternalName)
        {
            return BuildExternalName(info, now);
        }

        if (!info.HasSelector)
        {
            // A selectorless Service's hand-made Endpoints need the Endpoints mirror, which the namespace watch does not
            // hold: this Service is watched on its own (three streams), the rest of the namespace stays shared.
            if (_registry is not null)
            {
                _registry.Leave(shared, this);
            }

            SwitchToPerService(shared);
            return null;
        }

        if (!shared.SlicesSynced)
        {
            return null;
        }

        var endpoints = KubernetesObjectConverter.Merge(shared.SlicesOf(Key.Name), _rejections);
        endpoints = await ApplyAddressModeAsync(info, endpoints, cancellationToken).ConfigureAwait(false);
        return new ServiceEndpointSnapshot(Key, true, info, EndpointSourceKind.EndpointSlices, Intern(endpoints), _version + 1, shared.Slices.ResourceVersion, now, options.IncludeNotReadyEndpoints);
    }

    private async ValueTask<ImmutableArray<ServiceEndpoint>> ApplyAddressModeAsync(KubernetesServiceInfo info, ImmutableArray<ServiceEndpoint> pods, CancellationToken cancellationToken)
    {
        var configured = _context.Options.AddressMode;
        var mode = AddressModeApplier.Resolve(configured, _context.IsInCluster, info);
        switch (mode)
        {
            case AddressMode.LoadBalancer:
                if (AddressModeApplier.ToLoadBalancer(info, pods) is { } balanced)
                {
                    return balanced;
                }

                DiscoveryLog.AddressModeNotApplicable(_context.Logger, configured, Key.Namespace, Key.Name, "the Service has no load balancer ingress");
                return pods;
            case AddressMode.NodePort:
                var nodes = await _context.Nodes.GetAsync(configured, cancellationToken).ConfigureAwait(false);
                if (nodes is null)
                {
                    return pods;
                }

                if (AddressModeApplier.ToNodePorts(info, pods, nodes) is { } nodePorts)
                {
                    return nodePorts;
                }

                DiscoveryLog.AddressModeNotApplicable(_context.Logger, configured, Key.Namespace, Key.Name, "the Service has no node ports");
                return pods;
            default:
                return pods;
        }
    }

    private void Publish(ServiceEndpointSnapshot snapshot)
    {
        _version = snapshot.Version;

        // The old snapshot is marked before the new one becomes visible: whoever can read the new one (the resolver, a
        // subscriber) already sees the old one superseded, so a caller holding the old one never uses it after that.
        var previous = Volatile.Read(ref _snapshot);
        previous?.MarkSuperseded();

        // A full fence (as in SupersedeOnStop): a publish racing with the stop either is seen by it or sees it. Only a
        // fallback swapped into the empty slot meanwhile can come back here.
        var replaced = Interlocked.Exchange(ref _snapshot, snapshot);
        if (!ReferenceEquals(replaced, previous))
        {
            replaced?.MarkSuperseded();
        }

        if (Volatile.Read(ref _disposed))
        {
            Signal(snapshot);
        }

        // Change tokens fire only now that the new snapshot is visible: a consumer whose callback looks the Service up
        // again (MESD re-resolves, YARP re-reads its destinations) must get the new one, not the one that just fired.
        Signal(previous);
        if (!ReferenceEquals(replaced, previous))
        {
            Signal(replaced);
        }

        if (!_synced)
        {
            _synced = true;
            _fault = null;
            DiscoveryLog.InitialSync(_context.Logger, Key.Namespace, Key.Name, snapshot.Source, snapshot.UsableEndpoints.Length, snapshot.Endpoints.Length);
            _initialOutcome.TrySetResult();
        }
        else
        {
            DiscoveryLog.SnapshotPublished(_context.Logger, Key.Namespace, Key.Name, snapshot.Version, snapshot.UsableEndpoints.Length, snapshot.Endpoints.Length, snapshot.ResourceVersion);
        }

        Notify(snapshot);
    }

    /// <summary>A stopped watcher publishes nothing more: whoever holds its last snapshot must look the Service up again.</summary>
    private void SupersedeOnStop()
    {
        Interlocked.MemoryBarrier();
        Signal(Volatile.Read(ref _snapshot));
    }

    /// <summary>Marks a snapshot superseded and fires its change token; a consumer's failing callback is logged, never thrown here.</summary>
    private void Signal(ServiceEndpointSnapshot? snapshot)
    {
        try
        {
            snapshot?.SignalSuperseded();
        }
        catch (AggregateException e)
        {
            DiscoveryLog.SubscriberFailed(_context.Logger, e, Key.Namespace, Key.Name);
        }
    }

    private void Notify(ServiceEndpointSnapshot snapshot)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            try
            {
                subscriber(snapshot);
            }
            catch (Exception e)
            {
                DiscoveryLog.SubscriberFailed(_context.Logger, e, Key.Namespace, Key.Name);
            }
        }
    }

    private ServiceEndpointSnapshot? TryPublishFallback()
    {
        var options = _context.Options;
        if (!options.UseEnvironmentVariableFallback && !options.UseDnsFallback)
        {
            return null;
        }

        var now = _context.TimeProvider.GetUtcNow();
        ServiceEndpointSnapshot? fallback = null;
        if (options.UseEnvironmentVariableFallback)
        {
            fallback = FallbackSnapshotFactory.FromEnvironment(Key, _context.DefaultNamespace, 0, now);
        }

        if (fallback is null && options.UseDnsFallback)
        {
            fallback = FallbackSnapshotFactory.FromDns(Key, options.ClusterDomain, 0, now);
        }

        if (fallback is null)
        {
            return null;
        }

        // Only into an empty slot: real data that arrived meanwhile wins.
        var existing = Interlocked.CompareExchange(ref _snapshot, fallback, null);
        if (existing is not null)
        {
            return existing;
        }

        if (Volatile.Read(ref _disposed))
        {
            Signal(fallback);
        }

        if (_context.FallbackLog.ShouldLog(Key, fallback.Source))
        {
            DiscoveryLog.UsingFallback(_context.Logger, Key.Namespace, Key.Name, fallback.Source);
        }

        Notify(fallback);
        return fallback;
    }
}
