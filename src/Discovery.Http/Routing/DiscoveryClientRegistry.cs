using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discovery.Http;

/// <summary>One <see cref="DiscoveryClient"/> per <c>IHttpClientFactory</c> client name, kept for the application's lifetime.</summary>
internal sealed class DiscoveryClientRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<DiscoveryClient>> _clients = new(StringComparer.Ordinal);
    private readonly IOptionsMonitor<DiscoveryHttpClientOptions> _options;
    private readonly IEnumerable<ILoadBalancingPolicy> _policies;
    private readonly IServiceEndpointResolver _resolver;
    private readonly ServiceHostParser _parser;
    private readonly IOptions<KubernetesDiscoveryOptions> _coreOptions;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly DiscoveryHttpMetrics _metrics;
    private readonly ResolverCapabilities _capabilities;

    // One for every client: session affinity is per process, as kube-proxy's is per client IP.
    private readonly SessionAffinityTable _affinity = new();

    public DiscoveryClientRegistry(
        IOptionsMonitor<DiscoveryHttpClientOptions> options,
        IEnumerable<ILoadBalancingPolicy> policies,
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        IOptions<KubernetesDiscoveryOptions> coreOptions,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        DiscoveryHttpMetrics metrics)
    {
        _options = options;
        _policies = policies;
        _resolver = resolver;
        _parser = parser;
        _coreOptions = coreOptions;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _metrics = metrics;
        _capabilities = ResolverCapabilities.Of(resolver);
    }

    public ServiceHostParser Parser => _parser;

    public ILogger Logger => _loggerFactory.CreateLogger<DiscoveryHttpHandler>();

    public DiscoveryHttpClientOptions GetOptions(string name) => _options.Get(name);

    public DiscoveryClient Get(string name)
        => _clients.GetOrAdd(name, static (name, registry) => new Lazy<DiscoveryClient>(() => registry.Create(name)), this).Value;

    private DiscoveryClient Create(string name)
    {
        var options = _options.Get(name);
        return new DiscoveryClient(
            name,
            options,
            LoadBalancingPolicyResolver.Resolve(options, _policies),
            _resolver,
            _parser,
            _coreOptions.Value.DefaultPortName,
            _timeProvider,
            _loggerFactory.CreateLogger<DiscoveryHttpHandler>(),
            _metrics,
            _coreOptions.Value.IdleTimeout,
            _affinity,
            _capabilities);
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            if (client.IsValueCreated)
            {
                client.Value.Dispose();
            }
        }
    }
}
