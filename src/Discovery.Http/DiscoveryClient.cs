using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Discovery.Http;

/// <summary>
/// Everything service discovery keeps for one <c>IHttpClientFactory</c> client: options, policy, parsed hosts and one balancer
/// per Service port. It outlives the handlers, which the factory recreates every few minutes.
/// </summary>
internal sealed class DiscoveryClient
{
    // Hosts come from URLs, which may be user-controlled: the cache stops growing here and further hosts are parsed per request.
    private const int MaxCachedHosts = 1024;

    private readonly ConcurrentDictionary<string, HostEntry> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(ServiceKey Service, string Port), ServicePortBalancer> _balancers = new();
    private readonly ConditionalWeakTable<HttpRequestMessage, TriedEndpoints> _failedRequests = new();
    private int _cachedHosts;

    public DiscoveryClient(
        string name,
        DiscoveryHttpClientOptions options,
        ILoadBalancingPolicy policy,
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        string? defaultPortName,
        TimeProvider timeProvider,
        ILogger logger,
        DiscoveryHttpMetrics metrics)
    {
        Name = name;
        Options = options;
        Policy = policy;
        Resolver = resolver;
        Parser = parser;
        DefaultPortName = defaultPortName;
        TimeProvider = timeProvider;
        Logger = logger;
        Metrics = metrics;
        Zone = options.PreferLocalZone && !string.IsNullOrWhiteSpace(options.Zone) ? options.Zone : null;
    }

    public string Name { get; }

    public DiscoveryHttpClientOptions Options { get; }

    public ILoadBalancingPolicy Policy { get; }

    public IServiceEndpointResolver Resolver { get; }

    public ServiceHostParser Parser { get; }

    public string? DefaultPortName { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public DiscoveryHttpMetrics Metrics { get; }

    /// <summary>The caller's zone when zone-aware routing applies.</summary>
    public string? Zone { get; }

    public HostEntry GetHostEntry(string host)
    {
        if (_hosts.TryGetValue(host, out var entry))
        {
            return entry;
        }

        entry = new HostEntry(host, Parser.Parse(host));
        if (Volatile.Read(ref _cachedHosts) < MaxCachedHosts && _hosts.TryAdd(host, entry))
        {
            Interlocked.Increment(ref _cachedHosts);
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
        => _failedRequests.TryGetValue(request, out var failed) ? failed : null;

    public TriedEndpoints AddFailedEndpoints(HttpRequestMessage request)
    {
        var failed = new TriedEndpoints();
        request.Options.Set(TriedEndpoints.OptionsKey, failed);
        _failedRequests.AddOrUpdate(request, failed);
        return failed;
    }

    public ServicePortBalancer GetBalancer(HostEntry entry, string portName)
    {
        var last = entry.LastBalancer;
        if (last is not null && string.Equals(last.PortName, portName, StringComparison.Ordinal))
        {
            return last;
        }

        var balancer = _balancers.GetOrAdd(
            (entry.Service, portName),
            static (key, client) => new ServicePortBalancer(client, key.Service, key.Port),
            this);
        entry.LastBalancer = balancer;
        return balancer;
    }
}
