using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Discovery.Yarp;

/// <summary>
/// A YARP <see cref="IDestinationResolver"/> that expands each destination whose address names a Kubernetes Service
/// (<c>http://alpaca-prod</c>, <c>http://alpaca-prod.demo.svc:8080/api/</c>, <c>http://_grpc.alpaca-prod</c>) into one
/// destination per ready pod kube-proxy on this node would send to, from the shared Kubernetes watch. Other destinations pass
/// through unchanged.
/// </summary>
/// <remarks>
/// <para>Destination IDs are <c>&lt;configured id&gt;/&lt;pod address:port&gt;</c>: the same pod keeps the same ID across
/// updates, so YARP's health state, in-flight counts and session affinity survive them. YARP's load-balancing and health
/// policies then apply to the expanded set as to any configured one.</para>
/// <para>Each resolution returns a change token that fires when one of the Services changes; bursts are gathered into one
/// reload per <see cref="KubernetesDestinationResolverOptions.MinimumReloadInterval"/>.</para>
/// <para>The Service's <c>internalTrafficPolicy</c>, topology hints and <c>trafficDistribution</c> apply as kube-proxy applies them
/// (<see cref="KubeProxyTopology"/>): with <c>Local</c>, only pods on this node become destinations; with hints for this node or
/// zone, only the hinted pods.</para>
/// <para>A Service that does not exist or has no ready pod (with <c>Local</c>: none on this node, or the node unknown) yields no
/// destinations (YARP answers 503) and a warning naming the cause; the token fires when that changes. A malformed name or an
/// unknown port name is a configuration error and throws, which YARP reports for the cluster. When the API cannot be read, the
/// last known endpoints stay in use.</para>
/// </remarks>
internal sealed class KubernetesDestinationResolver : IDestinationResolver, IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private readonly IServiceEndpointResolver _resolver;
    private readonly ServiceHostParser _parser;
    private readonly KubernetesDestinationResolverOptions _options;
    private readonly string? _defaultPortName;
    private readonly ILogger _logger;
    private readonly DestinationChangeSignal _signal;
    private readonly object _lastKnownGate = new();
    private readonly Dictionary<ServiceKey, ServiceEndpointSnapshot> _lastKnown = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ServiceKey, IDisposable> _inUse = new();

    // Where this app runs, for the Service's traffic policy and topology; unknown with a resolver other than the core's.
    private readonly LocalNode? _localNode;

    /// <summary>Creates the resolver (normally through <c>AddKubernetesDestinationResolver()</c>).</summary>
    /// <param name="resolver">The shared endpoint resolver.</param>
    /// <param name="parser">Reads host names as Services.</param>
    /// <param name="discoveryOptions">The core options (default port name).</param>
    /// <param name="options">This resolver's options.</param>
    /// <param name="timeProvider">The clock of the reload throttle.</param>
    /// <param name="logger">The logger.</param>
    public KubernetesDestinationResolver(
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        IOptions<KubernetesDiscoveryOptions> discoveryOptions,
        IOptions<KubernetesDestinationResolverOptions> options,
        TimeProvider timeProvider,
        ILogger<KubernetesDestinationResolver> logger)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(discoveryOptions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _resolver = resolver;
        _localNode = (resolver as KubernetesServiceEndpointResolver)?.LocalNode;
        _parser = parser;
        _options = options.Value;
        _defaultPortName = discoveryOptions.Value.DefaultPortName;
        _logger = logger;
        _signal = new DestinationChangeSignal(timeProvider, _options.MinimumReloadInterval, changed => Log.ReloadSignalled(logger, changed));
    }

    /// <inheritdoc/>
    public async ValueTask<ResolvedDestinationCollection> ResolveDestinationsAsync(IReadOnlyDictionary<string, DestinationConfig> destinations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destinations);

        // Taken first: a change while the snapshots below are read fires this very token.
        var token = _signal.Current;
        var results = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var (id, config) in destinations)
        {
            if (!Uri.TryCreate(config.Address, UriKind.Absolute, out var address)
                || address.HostNameType is not (UriHostNameType.Dns or UriHostNameType.Basic))
            {
                results[id] = config;
                continue;
            }

            var parse = _parser.Parse(address.Host);
            if (parse.Match == ServiceHostMatch.PassThrough)
            {
                results[id] = config;
                continue;
            }

            if (parse.Match == ServiceHostMatch.Invalid)
            {
                throw new InvalidServiceNameException(address.Host, parse.Error ?? "malformed name", parse.Service);
            }

            var snapshot = await GetSnapshotAsync(id, config, parse, cancellationToken).ConfigureAwait(false);
            if (snapshot is null)
            {
                // A "name.namespace" host that discovery cannot confirm as a Service: DNS decides, as on the HTTP path.
                results[id] = config;
                continue;
            }

            await ExpandAsync(id, config, address, parse, snapshot, results, cancellationToken).ConfigureAwait(false);
        }

        return new ResolvedDestinationCollection(results, token);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _signal.Dispose();
        foreach (var hold in _inUse.Values)
        {
            hold.Dispose();
        }

        _inUse.Clear();
    }

    private async ValueTask<ServiceEndpointSnapshot?> GetSnapshotAsync(string id, DestinationConfig config, ServiceHostParseResult parse, CancellationToken cancellationToken)
    {
        var service = parse.Service;
        if (_resolver.TryGetSnapshot(service, out var snapshot))
        {
            return Remember(snapshot);
        }

        try
        {
            return Remember(await _resolver.GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false));
        }
        catch (DiscoveryException) when (parse.Match == ServiceHostMatch.ServiceIfExists)
        {
            return null;
        }
        catch (KubernetesApiUnavailableException e)
        {
            ServiceEndpointSnapshot? last;
            lock (_lastKnownGate)
            {
                _lastKnown.TryGetValue(service, out last);
            }

            if (last is null)
            {
                throw;
            }

            // YARP keeps its previous configuration when a reload fails, but then stops listening for changes: better to
            // answer with what was last known and ask again shortly.
            Log.KeepingLastKnown(_logger, e, id, config.Address, service.Namespace, service.Name, RetryDelay);
            _signal.SignalAfter(RetryDelay);
            return last;
        }
    }

    private ServiceEndpointSnapshot Remember(ServiceEndpointSnapshot snapshot)
    {
        // YARP's request path never reaches the core, so a Service the gateway routes to would idle out (and be re-listed
        // on the next reload): hold its watcher for the resolver's life. A Service dropped from YARP's configuration stays
        // watched until the app restarts; a gateway's set of Services is its configuration, so this is bounded by it.
        if (!_inUse.ContainsKey(snapshot.Service))
        {
            var hold = _resolver.Subscribe(snapshot.Service, static _ => { });
            if (!_inUse.TryAdd(snapshot.Service, hold))
            {
                hold.Dispose();
            }
        }

        _signal.Watch(snapshot);
        lock (_lastKnownGate)
        {
            _lastKnown[snapshot.Service] = snapshot;
        }

        return snapshot;
    }

    private async ValueTask ExpandAsync(string id, DestinationConfig config, Uri address, ServiceHostParseResult parse, ServiceEndpointSnapshot snapshot, Dictionary<string, DestinationConfig> results, CancellationToken cancellationToken)
    {
        var service = parse.Service;
        if (!snapshot.ServiceExists)
        {
            if (parse.Match == ServiceHostMatch.ServiceIfExists)
            {
                results[id] = config;
                return;
            }

            Log.NoDestinations(_logger, id, config.Address, new ServiceNotFoundException(service).Message);
            return;
        }

        int? uriPort = address.IsDefaultPort ? null : address.Port;
        var selection = snapshot.SelectPort(uriPort, parse.PortName, address.Scheme, _defaultPortName);
        if (selection.Targets.IsEmpty)
        {
            var reason = new NoReadyEndpointsException(service, snapshot.NotReadyCount, snapshot.TerminatingCount, selection.PortName.Length == 0 ? null : selection.PortName).Message;
            Log.NoDestinations(_logger, id, config.Address, reason);
            return;
        }

        // The pods kube-proxy on this node would use: with internalTrafficPolicy Local none elsewhere, whatever YARP's health says.
        var topology = await KubeProxyTopology.SelectAsync(selection, _localNode, cancellationToken).ConfigureAwait(false);
        if (topology.Failure is { } failure)
        {
            Log.NoDestinations(_logger, id, config.Address, failure.Message);
            return;
        }

        // The Host the pods expect: the Service name as written (without a "_port." label), with the port if one was written.
        var hostName = parse.PortName is null ? address.Host : address.Host[(address.Host.IndexOf('.', StringComparison.Ordinal) + 1)..];
        var host = config.Host is { Length: > 0 } configured
            ? configured
            : _options.UseServiceNameAsHost ? (uriPort is null ? hostName : hostName + ":" + uriPort.Value.ToString(CultureInfo.InvariantCulture)) : null;
        var path = address.PathAndQuery == "/" ? string.Empty : address.PathAndQuery;
        Uri? health = config.Health is { Length: > 0 } h && Uri.TryCreate(h, UriKind.Absolute, out var parsedHealth) ? parsedHealth : null;
        foreach (var target in topology.Targets)
        {
            var expanded = config with
            {
                Address = address.Scheme + "://" + target.Authority + path,
                Host = host,
                Health = health is null ? config.Health : RewriteHealth(health, target),
                Metadata = WithPodMetadata(config.Metadata, target, service, selection.AppProtocol),
            };
            results[id + "/" + target.Authority] = expanded;
        }

        Log.Expanded(_logger, id, config.Address, service.Namespace, service.Name, topology.Targets.Length, snapshot.Version, topology.Rule);
    }

    /// <summary>A health URI on the Service name is probed on each pod: its host becomes the pod's address, its port the pod's unless written.</summary>
    private string RewriteHealth(Uri health, EndpointTarget target)
    {
        if (_parser.Parse(health.Host).Match == ServiceHostMatch.PassThrough)
        {
            return health.OriginalString;
        }

        var authority = health.IsDefaultPort
            ? target.Authority
            : target.Authority[..target.Authority.LastIndexOf(':')] + ":" + health.Port.ToString(CultureInfo.InvariantCulture);
        return health.Scheme + "://" + authority + health.PathAndQuery;
    }

    private static Dictionary<string, string> WithPodMetadata(IReadOnlyDictionary<string, string>? metadata, EndpointTarget target, ServiceKey service, string? appProtocol)
    {
        var result = metadata is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        result[KubernetesDestinationMetadata.Service] = service.Namespace + "/" + service.Name;
        if (appProtocol is not null)
        {
            // Read by AppProtocolConfigFilter (kubernetes.io/h2c sets the cluster's HTTP version) and by the app's own transforms.
            result[KubernetesDestinationMetadata.AppProtocol] = appProtocol;
        }

        if (target.Endpoint.PodName is { } pod)
        {
            result[KubernetesDestinationMetadata.Pod] = pod;
        }

        if (target.Endpoint.Zone is { } zone)
        {
            result[KubernetesDestinationMetadata.Zone] = zone;
        }

        if (target.Endpoint.NodeName is { } node)
        {
            result[KubernetesDestinationMetadata.Node] = node;
        }

        return result;
    }
}
