using System.Diagnostics;
using k8s;
using Microsoft.Extensions.Logging;

namespace Discovery.Internal;

/// <summary>What every watcher of one resolver shares: options, clock, logger, metrics, the API and the node address cache.</summary>
internal sealed class WatcherContext
{
    private readonly Lazy<IKubernetesResourceApi> _api;

    public WatcherContext(
        KubernetesDiscoveryOptions options,
        Func<IKubernetesResourceApi> apiFactory,
        TimeProvider timeProvider,
        ILogger logger,
        DiscoveryMetrics metrics,
        bool isInCluster,
        string defaultNamespace,
        Func<double>? random = null)
    {
        Options = options;
        // PublicationOnly: a client that cannot be built now (no kubeconfig yet) is tried again on the next attempt.
        _api = new Lazy<IKubernetesResourceApi>(apiFactory, LazyThreadSafetyMode.PublicationOnly);
        TimeProvider = timeProvider;
        Logger = logger;
        Metrics = metrics;
        IsInCluster = isInCluster;
        DefaultNamespace = defaultNamespace;
        Nodes = new NodeAddressCache(this);
        FallbackLog = new FallbackLogRegistry(options.MaxWatchers);
        Strings = new StringPool();
        TouchGranularityTime = TimeSpan.FromSeconds(1);
        TouchGranularity = timeProvider.TimestampFrequency;
        Random = random ?? System.Random.Shared.NextDouble;
    }

    /// <summary>Uniform numbers in [0, 1) for the jitter of back-off delays and watch timeouts (a seam for tests).</summary>
    public Func<double> Random { get; }

    public KubernetesDiscoveryOptions Options { get; }

    public IKubernetesResourceApi Api => _api.Value;

    public bool ApiCreated => _api.IsValueCreated;

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public DiscoveryMetrics Metrics { get; }

    public bool IsInCluster { get; }

    public string DefaultNamespace { get; }

    public NodeAddressCache Nodes { get; }

    public FallbackLogRegistry FallbackLog { get; }

    /// <summary>Shares the repeated short strings (zones, nodes, port names) of the objects the informers hold.</summary>
    public StringPool Strings { get; }

    /// <summary>How stale a watcher's last-use timestamp may get before a lookup rewrites it, in <see cref="TimeProvider"/> timestamp units.</summary>
    public long TouchGranularity { get; }

    /// <summary><see cref="TouchGranularity"/> as a time span.</summary>
    public TimeSpan TouchGranularityTime { get; }

    public static TagList Tags(ServiceKey service, ResourceQuery query) => new()
    {
        { "k8s.namespace.name", service.Namespace },
        { "k8s.service.name", service.Name },
        { "discovery.resource", query.ResourceName },
    };

    public static TagList EventTags(ServiceKey service, ResourceQuery query, WatchEventType type) => new()
    {
        { "k8s.namespace.name", service.Namespace },
        { "k8s.service.name", service.Name },
        { "discovery.resource", query.ResourceName },
        { "discovery.event.type", type.ToString() },
    };
}
