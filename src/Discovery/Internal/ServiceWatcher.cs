using System.Collections.Immutable;
using k8s;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>
/// Watches one Service (its Service object and its EndpointSlices, Endpoints or Pods) and publishes immutable snapshots
/// with a reference swap. Shared by every caller of the Service; stopped by the resolver when idle.
/// </summary>
internal sealed class ServiceWatcher : IResourceInformerOwner, IAsyncDisposable
{
    private readonly WatcherContext _context;
    private readonly string? _podSelector;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _buildLock = new(1, 1);
    private readonly TaskCompletionSource _initialOutcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private readonly List<Task> _loops = [];
    private readonly EndpointInterner _interner = new();
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
    private bool _endpointsFallbackFrom403;
    private int _fallbackLogged;
    private bool _disposed;

    public ServiceWatcher(ServiceKey key, WatcherContext context, string? podSelector, bool pinned)
    {
        Key = key;
        _context = context;
        _podSelector = podSelector;
        IsPinned = pinned;
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

    public TimeSpan SinceLastContact => _context.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastContact));

    public TimeSpan IdleFor => _context.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastUsed));

    public void Start()
    {
        DiscoveryLog.WatcherStarted(_context.Logger, Key.Namespace, Key.Name);
        _context.Metrics.ActiveWatchers.Add(1);
        if (_podSelector is not null)
        {
            StartInformer(ref _endpointInformer, new ResourceQuery(WatchedResource.Pods, Key.Namespace, _podSelector, null));
        }
        else
        {
            StartInformer(ref _serviceInformer, new ResourceQuery(WatchedResource.Services, Key.Namespace, null, "metadata.name=" + Key.Name));
        }
    }

    /// <summary>Marks the watcher as in use. The request path calls this: one timestamp read and one store.</summary>
    public void Touch() => Volatile.Write(ref _lastUsed, _context.TimeProvider.GetTimestamp());

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

    /// <summary>Marks the watcher stopped if it is unpinned, unsubscribed and idle; the caller then disposes it.</summary>
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

    public bool TryRetire(TimeSpan idleTimeout)
    {
        lock (_gate)
        {
            if (_disposed || IsPinned || _subscribers.Length > 0 || IdleFor < idleTimeout)
            {
                return false;
            }

            _disposed = true;
            return true;
        }
    }

    public ServiceWatcherStatus GetStatus()
    {
        var snapshot = Current;
        var sinceContact = SinceLastContact;
        var stale = _failing && sinceContact > _context.Options.StaleAfter;
        return new ServiceWatcherStatus(
            Key,
            _synced,
            stale,
            snapshot?.Source,
            snapshot?.UsableEndpoints.Length ?? 0,
            sinceContact,
            _context.TimeProvider.GetElapsedTime(_startedAt),
            _failing ? _lastError?.Message : null);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
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
        _stopping.Dispose();
    }

    async ValueTask IResourceInformerOwner.OnChangedAsync(ResourceInformer informer, CancellationToken cancellationToken)
    {
        if (ReferenceEquals(informer, _serviceInformer) && FindService() is { } service && !IsExternalName(service))
        {
            // The endpoint watch starts only once the Service exists: a host that names no Service costs one watch.
            var resource = _context.Options.Source == EndpointSourceKind.Endpoints ? WatchedResource.Endpoints : WatchedResource.EndpointSlices;
            if (service.Spec?.Selector is not { Count: > 0 } && resource == WatchedResource.EndpointSlices && _endpointInformer is null)
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

        _lastError = error;
        _failing = true;
        if (_synced)
        {
            return;
        }

        // Refusals do not heal by waiting: report them at once (and keep retrying, in case RBAC is fixed).
        if (error is KubernetesStatusException { IsForbidden: true } forbidden)
        {
            var query = informer.Query;
            var (resource, group) = query.Resource == WatchedResource.Endpoints && _endpointsFallbackFrom403
                ? ("endpointslices", "discovery.k8s.io")
                : (query.ResourceName, query.ApiGroup);
            var serverMessage = forbidden.ServerMessage;
            _fault = () => new KubernetesForbiddenException(Key, "list", resource, group, serverMessage, error);
            _initialOutcome.TrySetResult();
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
        if (informer.Query.Resource != WatchedResource.EndpointSlices || !_context.Options.FallbackToEndpoints || !(error.IsForbidden || error.IsNotFound))
        {
            return null;
        }

        _endpointsFallbackFrom403 = error.IsForbidden;
        DiscoveryLog.FellBackToEndpoints(_context.Logger, Key.Namespace, Key.Name, error.StatusCode);
        return EndpointQuery(WatchedResource.Endpoints);
    }

    private ResourceQuery EndpointQuery(WatchedResource resource) => resource == WatchedResource.Endpoints
        ? new ResourceQuery(WatchedResource.Endpoints, Key.Namespace, null, "metadata.name=" + Key.Name)
        : new ResourceQuery(WatchedResource.EndpointSlices, Key.Namespace, "kubernetes.io/service-name=" + Key.Name, null);

    private void StartInformer(ref ResourceInformer? slot, ResourceQuery query)
    {
        lock (_gate)
        {
            if (slot is not null || _disposed)
            {
                return;
            }

            var informer = new ResourceInformer(query, Key, _context, this);
            slot = informer;
            var token = _stopping.Token;
            _loops.Add(Task.Run(() => informer.RunAsync(token), CancellationToken.None));
        }
    }

    private V1Service? FindService()
    {
        if (_serviceInformer is null)
        {
            return null;
        }

        return _serviceInformer.Objects.TryGetValue(Key.Name, out var item) ? item as V1Service : null;
    }

    private static bool IsExternalName(V1Service service) => string.Equals(service.Spec?.Type, "ExternalName", StringComparison.Ordinal);

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
        await _buildLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = await BuildAsync(cancellationToken).ConfigureAwait(false);
            if (snapshot is not null)
            {
                Publish(snapshot);
            }
        }
        finally
        {
            _buildLock.Release();
        }
    }

    private async ValueTask<ServiceEndpointSnapshot?> BuildAsync(CancellationToken cancellationToken)
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

            var pods = KubernetesObjectConverter.FromPods(endpointInformer.Objects.Values.OfType<V1Pod>());
            return new ServiceEndpointSnapshot(Key, true, null, EndpointSourceKind.Pods, _interner.Intern(pods), _version + 1, endpointInformer.ResourceVersion, now, options.IncludeNotReadyEndpoints);
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

        var info = KubernetesObjectConverter.ToServiceInfo(service);
        if (info.IsExternalName)
        {
            var ports = info.Ports.Select(p => new EndpointPort(p.Name, p.Port, p.Protocol, p.AppProtocol)).ToImmutableArray();
            ImmutableArray<ServiceEndpoint> external = string.IsNullOrEmpty(info.ExternalName)
                ? []
                : [new ServiceEndpoint(info.ExternalName.TrimEnd('.'), KubernetesObjectConverter.FamilyOf(info.ExternalName), ports, true, true, false)];
            return new ServiceEndpointSnapshot(Key, true, info, EndpointSourceKind.ExternalName, _interner.Intern(external), _version + 1, info.ResourceVersion, now, options.IncludeNotReadyEndpoints);
        }

        if (endpointInformer is not { HasSynced: true })
        {
            return null;
        }

        ImmutableArray<ServiceEndpoint> endpoints;
        EndpointSourceKind source;
        if (endpointInformer.Query.Resource == WatchedResource.Endpoints)
        {
            source = EndpointSourceKind.Endpoints;
            endpoints = KubernetesObjectConverter.FromEndpoints(endpointInformer.Objects.Values.OfType<V1Endpoints>().Where(e => e.Metadata?.Name == Key.Name));
        }
        else
        {
            source = EndpointSourceKind.EndpointSlices;
            endpoints = KubernetesObjectConverter.FromSlices(endpointInformer.Objects.Values.OfType<V1EndpointSlice>());
            if (_mirrorInformer is { } mirror && !_mirrorFailed)
            {
                if (!mirror.HasSynced)
                {
                    return null;
                }

                if (endpoints.IsEmpty)
                {
                    source = EndpointSourceKind.Endpoints;
                    endpoints = KubernetesObjectConverter.FromEndpoints(mirror.Objects.Values.OfType<V1Endpoints>().Where(e => e.Metadata?.Name == Key.Name));
                }
            }
        }

        endpoints = await ApplyAddressModeAsync(info, endpoints, cancellationToken).ConfigureAwait(false);
        return new ServiceEndpointSnapshot(Key, true, info, source, _interner.Intern(endpoints), _version + 1, endpointInformer.ResourceVersion, now, options.IncludeNotReadyEndpoints);
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
        Volatile.Write(ref _snapshot, snapshot);
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

        if (Interlocked.Exchange(ref _fallbackLogged, 1) == 0)
        {
            DiscoveryLog.UsingFallback(_context.Logger, Key.Namespace, Key.Name, fallback.Source);
        }

        Notify(fallback);
        return fallback;
    }
}
