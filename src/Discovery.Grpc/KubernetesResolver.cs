using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Microsoft.Extensions.Logging;

namespace Discovery.Grpc;

/// <summary>
/// The resolver of one <c>kubernetes:</c> channel: pushes every snapshot of the Service to the channel as it is published (no
/// polling), and a failure result carrying the typed discovery error when the Service cannot be used. The addresses are those
/// kube-proxy on this node would use (<see cref="KubeProxyTopology"/>): with <c>internalTrafficPolicy: Local</c> only this node's
/// pods, none there (or the node unknown) being a failure result; with hints for this node or zone, only the hinted pods.
/// </summary>
/// <remarks>
/// One background task per channel does all the publishing, so the channel sees results in order and never on the watcher's own
/// task (a subscriber callback only records the snapshot and wakes it). The subscription keeps the Service's watcher running while
/// the channel lives.
/// </remarks>
internal sealed class KubernetesResolver : Resolver
{
    // Passed as the "scheme" to port selection: with several ports and none named in the address, the one named grpc is taken.
    private const string GrpcPortName = "grpc";

    private readonly Uri _address;
    private readonly KubernetesGrpcTarget? _target;
    private readonly DiscoveryException? _targetError;
    private readonly IServiceEndpointResolver _resolver;

    // Where this app runs, for the Service's traffic policy and topology; unknown with a resolver other than the core's.
    private readonly LocalNode? _localNode;
    private readonly KubernetesGrpcResolverOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    // Capacity one: any number of wake-ups while a publication runs collapse into one more publication of the latest state.
    private readonly Channel<Wake> _wake = Channel.CreateBounded<Wake>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly Action<ServiceEndpointSnapshot> _onSnapshot;
    private ServiceEndpointSnapshot? _latest;

    // Only the publishing task reads and writes them.
    private ServiceEndpointSnapshot? _published;
    private Action<ResolverResult>? _listener;
    private int _started;

    public KubernetesResolver(
        Uri address,
        KubernetesGrpcTarget? target,
        DiscoveryException? targetError,
        IServiceEndpointResolver resolver,
        KubernetesGrpcResolverOptions options,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _address = address;
        _target = target;
        _targetError = targetError;
        _resolver = resolver;
        _localNode = (resolver as KubernetesServiceEndpointResolver)?.LocalNode;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _onSnapshot = OnSnapshot;
    }

    private enum Wake
    {
        Refresh,
        Snapshot,
    }

    /// <summary>The task that publishes results; completes when the resolver is disposed.</summary>
    internal Task? Publishing { get; private set; }

    /// <inheritdoc/>
    public override void Start(Action<ResolverResult> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The resolver has already been started.");
        }

        _listener = listener;
        Publishing = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>Publishes the latest snapshot again, from memory: the watch already delivers every change, so no API call is made.</summary>
    public override void Refresh()
    {
        if (Volatile.Read(ref _started) == 0)
        {
            throw new InvalidOperationException("The resolver has not been started.");
        }

        _wake.Writer.TryWrite(Wake.Refresh);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
            _wake.Writer.TryComplete();
        }

        base.Dispose(disposing);
    }

    private static bool IsNewer(ServiceEndpointSnapshot candidate, ServiceEndpointSnapshot current)
        => candidate.Version > current.Version
        || (current.Source is EndpointSourceKind.EnvironmentVariables or EndpointSourceKind.Dns && candidate.Source != current.Source);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_target is null)
        {
            // A malformed address stays malformed: report it, and again whenever the channel asks.
            await PublishUntilStoppedAsync(() => Fail(_targetError!), cancellationToken).ConfigureAwait(false);
            return;
        }

        IDisposable? subscription = null;
        var delay = _options.RetryDelay;
        var republish = true;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    // Subscribed before the first read, so that no snapshot published in between is missed.
                    subscription ??= _resolver.Subscribe(_target.Service, _onSnapshot);
                    if (Volatile.Read(ref _latest) is null)
                    {
                        Offer(await _resolver.GetSnapshotAsync(_target.Service, cancellationToken).ConfigureAwait(false));
                    }

                    delay = _options.RetryDelay;
                    await PublishLatestAsync(republish, cancellationToken).ConfigureAwait(false);
                    if (!await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return;
                    }

                    // A snapshot wake for one already published (the first one, seen by both the read and the subscription) is
                    // skipped; a refresh always publishes.
                    republish = _wake.Reader.TryRead(out var wake) && wake == Wake.Refresh;
                }
                catch (DiscoveryException e) when (IsPermanent(e))
                {
                    subscription?.Dispose();
                    await PublishUntilStoppedAsync(() => Fail(e), cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (DiscoveryException e)
                {
                    republish = true;
                    Fail(e);
                    await WaitForSnapshotAsync(delay, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (ObjectDisposedException)
        {
            // The discovery core was disposed with the application: nothing more to publish.
        }
        finally
        {
            subscription?.Dispose();
        }
    }

    /// <summary>Errors that asking again cannot fix: a namespace outside the allow-list, a malformed name.</summary>
    private static bool IsPermanent(DiscoveryException e) => e is NamespaceNotAllowedException or InvalidServiceNameException;

    /// <summary>Publishes once, then again on each refresh, until disposed.</summary>
    private async Task PublishUntilStoppedAsync(Action publish, CancellationToken cancellationToken)
    {
        try
        {
            publish();
            while (await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                publish();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    /// <summary>After a failure: waits for a snapshot (the watcher recovered) or the back-off delay, whichever comes first.</summary>
    /// <remarks>Refreshes do not cut the delay short: a channel in failure may ask often, and each ask would wait on the API again.</remarks>
    private async Task WaitForSnapshotAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(delay, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            while (await _wake.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
            {
                if (_wake.Reader.TryRead(out var wake) && wake == Wake.Snapshot)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The delay is over: ask again.
        }
    }

    /// <summary>Called on the watcher's task with each new snapshot: records it and wakes the publisher, nothing more.</summary>
    private void OnSnapshot(ServiceEndpointSnapshot snapshot)
    {
        Offer(snapshot);
        _wake.Writer.TryWrite(Wake.Snapshot);
    }

    private void Offer(ServiceEndpointSnapshot snapshot)
    {
        while (true)
        {
            var current = Volatile.Read(ref _latest);
            if (current is not null && !IsNewer(snapshot, current))
            {
                return;
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _latest, snapshot, current), current))
            {
                return;
            }
        }
    }

    private async Task PublishLatestAsync(bool republish, CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _latest)!;
        if (!republish && ReferenceEquals(snapshot, _published))
        {
            return;
        }

        _published = snapshot;
        var target = _target!;
        if (!snapshot.ServiceExists)
        {
            Fail(new ServiceNotFoundException(target.Service));
            return;
        }

        PortSelection selection;
        try
        {
            selection = snapshot.SelectPort(target.Port, target.PortName, GrpcPortName, _options.DefaultPortName);
        }
        catch (ServicePortNotFoundException e)
        {
            Fail(e);
            return;
        }

        if (selection.Targets.IsEmpty)
        {
            Fail(new NoReadyEndpointsException(target.Service, snapshot.NotReadyCount, snapshot.TerminatingCount, selection.PortName.Length == 0 ? null : selection.PortName));
            return;
        }

        // grpc-dotnet's balancer knows nothing of nodes: it gets only what kube-proxy on this node would use.
        var topology = await KubeProxyTopology.SelectAsync(selection, _localNode, cancellationToken).ConfigureAwait(false);
        if (topology.Failure is { } failure)
        {
            Fail(failure);
            return;
        }

        var addresses = new BalancerAddress[topology.Targets.Length];
        for (var i = 0; i < addresses.Length; i++)
        {
            var endpointTarget = topology.Targets[i];
            var address = new BalancerAddress(endpointTarget.Endpoint.Address, endpointTarget.Port);
            address.Attributes.Set(KubernetesResolverFactory.HostOverrideKey, target.Authority);
            address.Attributes.Set(KubernetesResolverFactory.EndpointKey, endpointTarget.Endpoint);
            addresses[i] = address;
        }

        Log.Published(_logger, _address.OriginalString, addresses.Length, target.Service.Namespace, target.Service.Name, snapshot.Version, topology.Rule);
        Deliver(ResolverResult.ForResult(addresses));
    }

    private void Fail(DiscoveryException error)
    {
        Log.Failed(_logger, _address.OriginalString, error.Message);

        // UNAVAILABLE, the status gRPC gives a name that does not resolve; the typed error rides along as the debug exception.
        Deliver(ResolverResult.ForFailure(new Status(StatusCode.Unavailable, error.Message, error)));
    }

    private void Deliver(ResolverResult result)
    {
        try
        {
            _listener!(result);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The channel's own configuration (an unknown load-balancing policy, say) is not ours to crash on.
            Log.ListenerFailed(_logger, e, _address.OriginalString);
        }
    }
}
