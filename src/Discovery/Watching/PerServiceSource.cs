using System.Collections.Immutable;
using Polly;
using Polly.Retry;

namespace Discovery.Internal;

/// <summary>
/// One watcher's own informers: the Service object, then (once the Service exists) its EndpointSlices, Endpoints or Pods,
/// the Endpoints mirror of a selectorless Service, and the fallbacks when slices are refused (404/403 → Endpoints, probing
/// slices again after a 403). Builds snapshots from them; tells the watcher what happened and leaves every decision about
/// scope to it.
/// </summary>
internal sealed class PerServiceSource : IEndpointSource, IResourceInformerOwner
{
    // The longest wait between probes of EndpointSlices refused by RBAC (see ReturnToSlicesWhenAllowedAsync).
    private static readonly TimeSpan SlicesProbeMaxDelay = TimeSpan.FromMinutes(5);

    private readonly ServiceWatcher _owner;
    private readonly WatcherContext _context;
    private readonly ServiceKey _key;
    private readonly string? _podSelector;
    // Stops this source's informers and its slice probe; linked to the watcher's stop.
    private readonly CancellationTokenSource _stopping;
    // Guards the informer slots, _loops and _stopped.
    private readonly object _lock = new();
    private readonly List<Task> _loops = [];
    private ResourceInformer? _serviceInformer;
    private ResourceInformer? _endpointInformer;
    private ResourceInformer? _mirrorInformer;
    private bool _stopped;
    // Written by the informer tasks, read by builds on other informer tasks (each a single flag or reference).
    private volatile bool _mirrorFailed;
    private volatile SlicesRefusal? _slicesRefusal;
    private int _slicesProbeRunning;

    public PerServiceSource(ServiceWatcher owner, WatcherContext context, string? podSelector, CancellationToken watcherStopping)
    {
        _owner = owner;
        _context = context;
        _key = owner.Key;
        _podSelector = podSelector;
        _stopping = CancellationTokenSource.CreateLinkedTokenSource(watcherStopping);
    }

    /// <summary>Why the endpoint informer left EndpointSlices for Endpoints; <see langword="null"/> while on slices or after returning.</summary>
    public SlicesRefusal? Refusal => _slicesRefusal;

    /// <summary>
    /// Whether the namespace watch can serve this Service instead: not a pod selector, no Endpoints mirror (selectorless),
    /// not on Endpoints (refused slices, or <c>Source = Endpoints</c>).
    /// </summary>
    public bool CanMoveToNamespace
    {
        get
        {
            lock (_lock)
            {
                return _podSelector is null && _mirrorInformer is null && _endpointInformer?.Query.Resource is not WatchedResource.Endpoints;
            }
        }
    }

    public void Start()
    {
        if (_podSelector is not null)
        {
            StartInformer(ref _endpointInformer, new ResourceQuery(WatchedResource.Pods, _key.Namespace, _podSelector, null));
        }
        else
        {
            StartInformer(ref _serviceInformer, new ResourceQuery(WatchedResource.Services, _key.Namespace, null, "metadata.name=" + _key.Name));
        }
    }

    /// <summary>Stops the informers (once); their loops end on their own, <see cref="DisposeAsync"/> waits for them.</summary>
    public async Task StopAsync()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
        }

        try
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: already stopped.
        }
    }

    /// <summary>After <see cref="StopAsync"/> or the watcher's stop: waits for the informer loops and releases the token.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] loops;
        lock (_lock)
        {
            _stopped = true;
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

        _stopping.Dispose();
    }

    /// <summary>The Service as the Service informer holds it (null before its list, or when it does not exist).</summary>
    public ServiceProjection? FindService() => Informers().Service?.Store.FindService(_key.Name);

    /// <summary>
    /// RBAC was fixed: every informer retries at once instead of waiting out its back-off; one sent to Endpoints by a 403
    /// returns to EndpointSlices.
    /// </summary>
    public void RestartAll()
    {
        var (service, endpoints, mirror) = Informers();
        foreach (var informer in new[] { service, endpoints, mirror })
        {
            if (informer is null)
            {
                continue;
            }

            if (ReferenceEquals(informer, endpoints) && informer.Query.Resource == WatchedResource.Endpoints && _slicesRefusal is { Forbidden: true }
                && _context.Options.Source == EndpointSourceKind.EndpointSlices)
            {
                _slicesRefusal = null;
                informer.Restart(EndpointQuery(WatchedResource.EndpointSlices));
            }
            else
            {
                informer.Restart();
            }
        }
    }

    public async ValueTask<SourceBuild> BuildAsync(ServiceSnapshotBuilder builder, CancellationToken cancellationToken)
    {
        var (serviceInformer, endpointInformer, mirror) = Informers();
        if (_podSelector is not null)
        {
            if (endpointInformer is not { HasSynced: true })
            {
                return SourceBuild.NotReady;
            }

            var pods = KubernetesObjectConverter.FromPods(endpointInformer.Store.Pods, builder.Rejections);
            return builder.FromPods(pods, endpointInformer.ResourceVersion);
        }

        if (serviceInformer is not { HasSynced: true })
        {
            return SourceBuild.NotReady;
        }

        var service = serviceInformer.Store.FindService(_key.Name);
        if (service is null)
        {
            var sourceKind = endpointInformer?.Query.Resource == WatchedResource.Endpoints ? EndpointSourceKind.Endpoints : EndpointSourceKind.EndpointSlices;
            return builder.Absent(sourceKind, serviceInformer.ResourceVersion);
        }

        builder.Rejections.Report(service.Issues);
        var info = service.Info;
        if (info.IsExternalName)
        {
            return builder.ExternalName(info);
        }

        if (endpointInformer is not { HasSynced: true })
        {
            return SourceBuild.NotReady;
        }

        ImmutableArray<ServiceEndpoint> endpoints;
        EndpointSourceKind source;
        if (endpointInformer.Query.Resource == WatchedResource.Endpoints)
        {
            // Just switched from slices: what the informer holds is still slices until the Endpoints list arrives;
            // building now would publish an empty set.
            if (endpointInformer.Store is not { Resource: WatchedResource.Endpoints } endpointsStore)
            {
                return SourceBuild.NotReady;
            }

            source = EndpointSourceKind.Endpoints;
            endpoints = KubernetesObjectConverter.FromEndpoints(endpointsStore.Endpoints.Where(e => e.Metadata?.Name == _key.Name), builder.Rejections);
        }
        else
        {
            source = EndpointSourceKind.EndpointSlices;
            endpoints = KubernetesObjectConverter.Merge(endpointInformer.Store.Slices.OrderBy(s => s.Name, StringComparer.Ordinal), builder.Rejections);
            if (mirror is not null && !_mirrorFailed)
            {
                if (!mirror.HasSynced)
                {
                    return SourceBuild.NotReady;
                }

                if (endpoints.IsEmpty)
                {
                    source = EndpointSourceKind.Endpoints;
                    endpoints = KubernetesObjectConverter.FromEndpoints(mirror.Store.Endpoints.Where(e => e.Metadata?.Name == _key.Name), builder.Rejections);
                }
            }
        }

        return await builder.WithEndpointsAsync(info, source, endpoints, endpointInformer.ResourceVersion, cancellationToken).ConfigureAwait(false);
    }

    async ValueTask IResourceInformerOwner.OnChangedAsync(InformerChange change, CancellationToken cancellationToken)
    {
        if (ReferenceEquals(change.Informer, Informers().Service) && change.After.FindService(_key.Name) is { } service && !service.Info.IsExternalName)
        {
            // The endpoint watch starts only once the Service exists: a host that names no Service costs one watch.
            var resource = _context.Options.Source == EndpointSourceKind.Endpoints ? WatchedResource.Endpoints : WatchedResource.EndpointSlices;
            if (!service.Info.HasSelector && resource == WatchedResource.EndpointSlices && Informers().Endpoints is null)
            {
                // A selectorless Service's hand-made Endpoints reach slices only through the mirroring controller,
                // which not every cluster runs: read the Endpoints too and use them when no slice exists. Started
                // first, so that the slices never publish an empty set without it.
                StartInformer(ref _mirrorInformer, EndpointQuery(WatchedResource.Endpoints));
            }

            StartInformer(ref _endpointInformer, EndpointQuery(resource));
        }

        await _owner.OnSourceChangedAsync(this, cancellationToken).ConfigureAwait(false);
    }

    void IResourceInformerOwner.OnContact(ResourceInformer informer) => _owner.OnSourceContact();

    void IResourceInformerOwner.OnFailure(ResourceInformer informer, Exception error)
    {
        if (ReferenceEquals(informer, Informers().Mirror))
        {
            // The mirror is a best effort: its failure must not hold back the slices.
            if (!_mirrorFailed && !informer.HasSynced)
            {
                _mirrorFailed = true;
                _owner.RebuildInBackground(this);
            }

            return;
        }

        _owner.OnSourceFailure(this, informer.Query, error);
    }

    ResourceQuery? IResourceInformerOwner.GetFallback(ResourceInformer informer, KubernetesStatusException error)
    {
        if (IsStopped || informer.Query.Resource != WatchedResource.EndpointSlices || !_context.Options.FallbackToEndpoints || !(error.IsForbidden || error.IsNotFound))
        {
            return null;
        }

        _slicesRefusal = new SlicesRefusal(error.IsForbidden, error.Verb, error.ServerMessage);
        DiscoveryLog.FellBackToEndpoints(_context.Logger, _key.Namespace, _key.Name, error.StatusCode);
        if (error.IsForbidden && Interlocked.Exchange(ref _slicesProbeRunning, 1) == 0)
        {
            // A refusal may be transient (an API server's authorizer warming up after a restart): keep asking.
            _ = ReturnToSlicesWhenAllowedAsync();
        }

        return EndpointQuery(WatchedResource.Endpoints);
    }

    /// <summary>
    /// After a 403 sent the source to core/v1 Endpoints: probes EndpointSlices (a one-item list) with jittered exponential
    /// back-off until RBAC allows them again, then switches the endpoint informer back. Its slices list swaps in whole, and
    /// nothing is built from it before, so readers keep the Endpoints-based set until the slice-based one replaces it.
    /// </summary>
    /// <remarks>
    /// A transient refusal (an authorizer warming up) ends within seconds and the back-off starts at the base delay; a Role
    /// that grants only Endpoints refuses for good, so the delay grows to at least 5 minutes rather than the reconnect cap:
    /// a thousand such Services then cost a few list requests a second, not dozens. A Role granting list but not watch
    /// (rare) sends the source back to Endpoints at the watch, and the probing starts over.
    /// </remarks>
    private async Task ReturnToSlicesWhenAllowedAsync()
    {
        var options = _context.Options;
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
            var token = _stopping.Token;
            // The refusal has just happened: the first probe waits one base delay too.
            await Task.Delay(options.ReconnectBaseDelay, _context.TimeProvider, token).ConfigureAwait(false);
            await pipeline.ExecuteAsync(
                async ct => await _context.Api.IsAllowedAsync(WatchedResource.EndpointSlices, _key.Namespace, _key.Name, "list", ct).ConfigureAwait(false) == true,
                token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }
        finally
        {
            Volatile.Write(ref _slicesProbeRunning, 0);
        }

        if (Informers().Endpoints is { Query.Resource: WatchedResource.Endpoints } informer && _slicesRefusal is { Forbidden: true } && !IsStopped)
        {
            _slicesRefusal = null;
            DiscoveryLog.ReturningToEndpointSlices(_context.Logger, _key.Namespace, _key.Name);
            informer.Restart(EndpointQuery(WatchedResource.EndpointSlices));
        }
    }

    private bool IsStopped
    {
        get
        {
            lock (_lock)
            {
                return _stopped;
            }
        }
    }

    private (ResourceInformer? Service, ResourceInformer? Endpoints, ResourceInformer? Mirror) Informers()
    {
        lock (_lock)
        {
            return (_serviceInformer, _endpointInformer, _mirrorInformer);
        }
    }

    private ResourceQuery EndpointQuery(WatchedResource resource) => resource == WatchedResource.Endpoints
        ? new ResourceQuery(WatchedResource.Endpoints, _key.Namespace, null, "metadata.name=" + _key.Name)
        : new ResourceQuery(WatchedResource.EndpointSlices, _key.Namespace, "kubernetes.io/service-name=" + _key.Name, null);

    private void StartInformer(ref ResourceInformer? slot, ResourceQuery query)
    {
        lock (_lock)
        {
            if (slot is not null || _stopped)
            {
                return;
            }

            var informer = new ResourceInformer(query, _key, _context, this);
            slot = informer;
            var token = _stopping.Token;
            _loops.Add(Task.Run(() => informer.RunAsync(token), CancellationToken.None));
        }
    }
}

/// <summary>Why EndpointSlices were refused (the fault of a refusal names slices, not the Endpoints fallback).</summary>
/// <param name="Forbidden">403 (probed until allowed) rather than 404.</param>
/// <param name="Verb">The refused verb.</param>
/// <param name="ServerMessage">The server's message.</param>
internal sealed record SlicesRefusal(bool Forbidden, string? Verb, string? ServerMessage);
