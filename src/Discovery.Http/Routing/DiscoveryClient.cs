using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Discovery.Http;

/// <summary>
/// Everything service discovery keeps for one <c>IHttpClientFactory</c> client: options, policy, parsed hosts and one balancer
/// per Service port. It outlives the handlers, which the factory recreates every few minutes.
/// </summary>
/// <remarks>
/// Hosts and balancers unused for the core's idle timeout (after which the core also stops the Service's watcher) are removed
/// by a periodic sweep, so that an application touching many Services, or many external <c>name.namespace</c> hosts, does not
/// keep them all. The request path only marks entries used (see <see cref="UsageMark"/>).
/// </remarks>
internal sealed class DiscoveryClient : IDisposable
{
    // Hosts come from URLs, which may be user-controlled: the cache stops growing here and further hosts are parsed per request.
    private const int MaxCachedHosts = 1024;

    private readonly ConcurrentDictionary<string, HostEntry> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(ServiceKey Service, string Port), ServicePortBalancer> _balancers = new();
    private readonly ConditionalWeakTable<HttpRequestMessage, TriedEndpoints> _failedRequests = new();
    // The core's default; the registry passes the configured one.
    private static readonly TimeSpan DefaultIdleTimeout = new KubernetesDiscoveryOptions().IdleTimeout;

    private readonly ITimer _sweep;
    private int _cachedHosts;

    // Set once any request failed on an endpoint: until then no request can carry failed endpoints, so the table is not read.
    private volatile bool _anyFailedEndpoints;

    // The entry of the host last looked up (a client usually calls one Service): found without hashing the host.
    private volatile HostEntry? _lastHost;

    public DiscoveryClient(
        string name,
        DiscoveryHttpClientOptions options,
        ILoadBalancingPolicy policy,
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        string? defaultPortName,
        TimeProvider timeProvider,
        ILogger logger,
        DiscoveryHttpMetrics metrics,
        TimeSpan? idleTimeout = null,
        SessionAffinityTable? affinity = null,
        ResolverCapabilities? capabilities = null)
    {
        Affinity = affinity ?? new SessionAffinityTable();
        Name = name;
        Options = options;
        Policy = policy;
        Resolver = resolver;
        Parser = parser;
        DefaultPortName = defaultPortName;
        TimeProvider = timeProvider;
        UsesSystemClock = ReferenceEquals(timeProvider, TimeProvider.System);
        Capabilities = capabilities ?? ResolverCapabilities.Of(resolver);
        SnapshotRecheckInterval = timeProvider.TimestampFrequency;
        Logger = logger;
        Metrics = metrics;
        ConfiguredZone = options.PreferLocalZone && !string.IsNullOrWhiteSpace(options.Zone) ? options.Zone : null;
        Node = Capabilities.LocalNode;

        // Starts the node's zone lookup now, so that it is usually known by the time the first Service has synced.
        _ = options.PreferLocalZone ? Node?.Zone : null;
        IdleTimeout = idleTimeout ?? DefaultIdleTimeout;

        // As the core sweeps its watchers: a quarter of the idle time, between a second and a minute.
        var period = TimeSpan.FromTicks(Math.Clamp(IdleTimeout.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        _sweep = IdleSweep.Start(this, period);
    }

    public string Name { get; }

    public DiscoveryHttpClientOptions Options { get; }

    public ILoadBalancingPolicy Policy { get; }

    public IServiceEndpointResolver Resolver { get; }

    public ServiceHostParser Parser { get; }

    public string? DefaultPortName { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>
    /// Whether <see cref="TimeProvider"/> is the system clock, whose timestamps <see cref="GetTimestamp"/> then reads from
    /// <see cref="System.Diagnostics.Stopwatch"/> without a virtual call.
    /// </summary>
    public bool UsesSystemClock { get; }

    /// <summary>What the resolver can do beyond its interface: whether host entries may hold the snapshots it returns, where the app runs.</summary>
    public ResolverCapabilities Capabilities { get; }

    /// <summary>
    /// How long (in <see cref="TimeProvider"/> timestamp units: one second) a held snapshot is used before the resolver is asked
    /// again, which marks the Service in use so that its watcher is not stopped as idle under steady traffic.
    /// </summary>
    public long SnapshotRecheckInterval { get; }

    /// <summary>
    /// A <see cref="TimeProvider"/> timestamp; the system clock without a virtual call. The one clock of the request path: the
    /// held snapshot's due time, the pick, ejections, and each attempt's start, end and latency.
    /// </summary>
    public long GetTimestamp() => UsesSystemClock ? System.Diagnostics.Stopwatch.GetTimestamp() : TimeProvider.GetTimestamp();

    public ILogger Logger { get; }

    public DiscoveryHttpMetrics Metrics { get; }

    /// <summary>The zone configured for this client (<c>Discovery:Http:Zone</c>, <c>DISCOVERY_ZONE</c>) when zone-aware routing applies.</summary>
    public string? ConfiguredZone { get; }

    /// <summary>Where this application runs, from the core's resolver; <see langword="null"/> with another resolver.</summary>
    public LocalNode? Node { get; }

    /// <summary>This application's node name, if known.</summary>
    public string? NodeName => Node?.NodeName;

    /// <summary>The caller's zone when zone-aware routing applies: the configured one, else the node's (once read).</summary>
    public string? Zone => ConfiguredZone ?? (Options.PreferLocalZone ? Node?.Zone : null);

    /// <summary>The endpoints requests stick to under <c>sessionAffinity: ClientIP</c>, shared by the process's clients.</summary>
    public SessionAffinityTable Affinity { get; }

    /// <summary>How long a host or balancer may go unused before the sweep removes it.</summary>
    public TimeSpan IdleTimeout { get; }

    internal int CachedHostCount => _hosts.Count;

    internal int BalancerCount => _balancers.Count;

    public HostEntry GetHostEntry(string host)
    {
        var last = _lastHost;
        if (last is not null && (ReferenceEquals(last.Host, host) || string.Equals(last.Host, host, StringComparison.Ordinal)))
        {
            last.Touch();
            return last;
        }

        if (_hosts.TryGetValue(host, out var entry))
        {
            entry.Touch();
            _lastHost = entry;
            return entry;
        }

        entry = new HostEntry(host, Parser.Parse(host), TimeProvider.GetTimestamp());
        if (Volatile.Read(ref _cachedHosts) < MaxCachedHosts && _hosts.TryAdd(host, entry))
        {
            Interlocked.Increment(ref _cachedHosts);
            _lastHost = entry;
        }

        return entry;
    }

    /// <summary>The endpoints that already failed this request message (in an earlier attempt of an outer retry), if any.</summary>
    /// <remarks>
    /// The set is also in <see cref="HttpRequestMessage.Options"/> for other handlers to see, but it is looked up in a weak
    /// table: reading the options of every request would allocate them (about 100 bytes) on the success path. Reading the table
    /// takes no lock and allocates nothing.
    /// </remarks>
    public TriedEndpoints? GetFailedEndpoints(HttpRequestMessage request)
        => _anyFailedEndpoints && _failedRequests.TryGetValue(request, out var failed) ? failed : null;

    public TriedEndpoints AddFailedEndpoints(HttpRequestMessage request)
    {
        var failed = new TriedEndpoints();
        _anyFailedEndpoints = true;
        request.Options.Set(TriedEndpoints.OptionsKey, failed);
        _failedRequests.AddOrUpdate(request, failed);
        return failed;
    }

    public ServicePortBalancer GetBalancer(HostEntry entry, string portName)
    {
        var last = entry.LastBalancer;
        if (last is not null && !last.IsRetired && string.Equals(last.PortName, portName, StringComparison.Ordinal))
        {
            last.Touch();
            return last;
        }

        var key = (entry.Service, portName);
        while (true)
        {
            var balancer = _balancers.GetOrAdd(key, static (key, client) => new ServicePortBalancer(client, key.Service, key.Port), this);
            if (!balancer.IsRetired)
            {
                balancer.Touch();
                entry.LastBalancer = balancer;
                return balancer;
            }

            // Retired by the sweep, which is about to remove it: remove it first, and add a fresh one.
            _balancers.TryRemove(new KeyValuePair<(ServiceKey, string), ServicePortBalancer>(key, balancer));
        }
    }

    /// <summary>Removes the hosts and balancers unused for <see cref="IdleTimeout"/> (run by the sweep timer; tests call it directly).</summary>
    internal void EvictIdle()
    {
        var now = TimeProvider.GetTimestamp();
        Affinity.RemoveExpired(now);
        foreach (var pair in _balancers)
        {
            var balancer = pair.Value;
            if (balancer.TryRetire(now, IdleTimeout) && _balancers.TryRemove(pair))
            {
                Log.BalancerEvicted(Logger, balancer.Service.Namespace, balancer.Service.Name, balancer.PortName, IdleTimeout);
            }
        }

        foreach (var pair in _hosts)
        {
            if (pair.Value.IsIdle(now, IdleTimeout, TimeProvider) && _hosts.TryRemove(pair))
            {
                // Only cached entries are remembered as the last one: a removed entry must not live on there.
                Interlocked.CompareExchange(ref _lastHost, null, pair.Value);
                Interlocked.Decrement(ref _cachedHosts);
            }
        }
    }

    public void Dispose() => _sweep.Dispose();

    /// <summary>
    /// The sweep timer. It holds its client weakly: a client whose handler was dropped without being disposed is collected, and
    /// the timer then stops itself.
    /// </summary>
    private sealed class IdleSweep
    {
        private readonly WeakReference<DiscoveryClient> _client;
        private ITimer? _timer;

        private IdleSweep(DiscoveryClient client) => _client = new WeakReference<DiscoveryClient>(client);

        public static ITimer Start(DiscoveryClient client, TimeSpan period)
        {
            var sweep = new IdleSweep(client);
            var timer = client.TimeProvider.CreateTimer(static state => ((IdleSweep)state!).Run(), sweep, period, period);
            sweep._timer = timer;
            return timer;
        }

        private void Run()
        {
            if (!_client.TryGetTarget(out var client))
            {
                _timer?.Dispose();
                return;
            }

            try
            {
                client.EvictIdle();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A timer callback must not throw; the next sweep tries again.
                Log.SweepFailed(client.Logger, e);
            }
        }
    }
}
