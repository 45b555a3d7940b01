using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ServiceDiscovery;
using MesdEndpoint = Microsoft.Extensions.ServiceDiscovery.ServiceEndpoint;

namespace Discovery.ServiceDiscovery;

/// <summary>
/// Answers one MESD query from the shared Kubernetes watch. Starts no watch of its own: MESD creates and disposes providers
/// often (handlers recycled, idle watchers evicted), and each is a few references plus, once used, a hold that keeps the
/// shared watcher from idling out while MESD uses the Service. Every answer carries
/// the snapshot's change token, so MESD re-resolves when the Service changes and never polls. The endpoints are those
/// kube-proxy on this node would use (<see cref="KubeProxyTopology"/>): with <c>internalTrafficPolicy: Local</c> only this node's,
/// and none there is the typed error, not a fallback to other nodes or to DNS.
/// </summary>
internal sealed class KubernetesServiceEndpointProvider : IServiceEndpointProvider, IHostNameFeature
{
    private readonly KubernetesEndpointQuery _query;
    private readonly IServiceEndpointResolver _resolver;
    private readonly KubernetesServiceEndpointProviderOptions _options;
    private readonly string? _defaultPortName;
    private readonly ILogger _logger;
    private readonly ServiceNotices _notices;
    private readonly LocalNode? _localNode;
    private IDisposable? _inUse;

    public KubernetesServiceEndpointProvider(
        KubernetesEndpointQuery query,
        IServiceEndpointResolver resolver,
        KubernetesServiceEndpointProviderOptions options,
        string? defaultPortName,
        ILogger logger,
        ServiceNotices notices,
        LocalNode? localNode)
    {
        _localNode = localNode;
        _query = query;
        _resolver = resolver;
        _options = options;
        _defaultPortName = defaultPortName;
        _logger = logger;
        _notices = notices;
    }

    /// <summary>The Service name as written: MESD's handler sends it as the Host header.</summary>
    string IHostNameFeature.HostName => _query.HostName;

    /// <inheritdoc/>
    public async ValueTask PopulateAsync(IServiceEndpointBuilder endpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // MESD's convention: a provider earlier in the order (configuration overrides) wins outright.
        if (endpoints.Endpoints.Count != 0)
        {
            Log.SkippedResolution(_logger, _query.Original);
            return;
        }

        var service = _query.Service;
        if (_query.Parse.Match == ServiceHostMatch.Invalid)
        {
            throw new InvalidServiceNameException(_query.HostName, _query.Parse.Error ?? "malformed name", service);
        }

        if (!_resolver.TryGetSnapshot(service, out var snapshot))
        {
            try
            {
                snapshot = await _resolver.GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false);
            }
            catch (DiscoveryException e) when (_query.Parse.Match == ServiceHostMatch.ServiceIfExists)
            {
                // "name.namespace" is also the shape of external names ("example.com"): when discovery cannot tell, the next
                // provider decides, as DNS does on the HTTP path.
                Log.PassingOn(_logger, _query.Original, e.GetType().Name);
                return;
            }
        }

        KeepWatched(service);

        // Added before any outcome below: a Service that appears, or gains ready pods, fires it too.
        endpoints.AddChangeToken(snapshot.ChangeToken);
        if (!snapshot.ServiceExists)
        {
            if (_query.Parse.Match == ServiceHostMatch.ServiceIfExists || _options.PassThroughUnknownServices)
            {
                Log.PassingOn(_logger, _query.Original, "no such Service");
                return;
            }

            throw new ServiceNotFoundException(service);
        }

        var (scheme, selection) = _query.SelectPort(snapshot, _defaultPortName);
        if (selection.Targets.IsEmpty)
        {
            throw new NoReadyEndpointsException(service, snapshot.NotReadyCount, snapshot.TerminatingCount, selection.PortName.Length == 0 ? null : selection.PortName);
        }

        // With internalTrafficPolicy Local and nothing on this node (or the node unknown), the typed error: MESD reports it, and
        // the change token above re-resolves once that changes.
        var topology = await KubeProxyTopology.SelectAsync(selection, _localNode, cancellationToken).ConfigureAwait(false);
        if (topology.Failure is { } failure)
        {
            throw failure;
        }

        // MESD's handler has no notion of a request's HTTP version: the port's appProtocol reaches consumers as a feature, and
        // the app's log says once what an h2c port needs from its clients.
        var appProtocol = AppProtocolFeature.For(selection.AppProtocol, scheme);
        if (appProtocol is { RequiresHttp2PriorKnowledge: true })
        {
            _notices.H2cPort(service, selection.PortName);
        }

        foreach (var target in topology.Targets)
        {
            var endpoint = MesdEndpoint.Create(ToEndPoint(scheme, target));
            endpoint.Features.Set<IServiceEndpointProvider>(this);
            if (_options.ApplyHostName)
            {
                endpoint.Features.Set<IHostNameFeature>(this);
            }

            if (appProtocol is not null)
            {
                endpoint.Features.Set<IKubernetesAppProtocolFeature>(appProtocol);
            }

            endpoints.Endpoints.Add(endpoint);
        }

        Log.Resolved(_logger, service.Namespace, service.Name, topology.Targets.Length, selection.PortName, _query.Original, snapshot.Version, topology.Rule);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Releases the provider's hold on the watcher; the watch itself belongs to the resolver and goes on, until the core's
    /// idle timeout if nothing else uses the Service.
    /// </remarks>
    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _inUse, null)?.Dispose();
        return default;
    }

    /// <summary>
    /// Keeps the Service's watcher from idling out while MESD holds this provider. MESD's request path reads its cached answer
    /// and never reaches the core, so without a hold the watcher would stop after the core's idle timeout, fire the token and
    /// make MESD wait for a fresh list (or fail, with the API down) while the Service is in use. MESD disposes the provider
    /// once it stops using the Service, which releases the hold.
    /// </summary>
    private void KeepWatched(ServiceKey service)
    {
        if (Volatile.Read(ref _inUse) is not null)
        {
            return;
        }

        var hold = _resolver.Subscribe(service, static _ => { });
        if (Interlocked.CompareExchange(ref _inUse, hold, null) is not null)
        {
            hold.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => "Kubernetes";

    /// <summary>
    /// With a scheme, a <see cref="UriEndPoint"/>: MESD's handler then uses that scheme, which matters for
    /// <c>https+http://</c> when only the <c>http</c> port exists. Without one, the address itself.
    /// </summary>
    private static EndPoint ToEndPoint(string? scheme, EndpointTarget target)
    {
        if (scheme is not null)
        {
            return new UriEndPoint(new Uri(scheme + "://" + target.Authority));
        }

        return IPAddress.TryParse(target.Endpoint.Address, out var address)
            ? new IPEndPoint(address, target.Port)
            : new DnsEndPoint(target.Endpoint.Address, target.Port);
    }
}
