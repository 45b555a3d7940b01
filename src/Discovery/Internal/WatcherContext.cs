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
        string defaultNamespace)
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
    }

    public KubernetesDiscoveryOptions Options { get; }

    public IKubernetesResourceApi Api => _api.Value;

    public bool ApiCreated => _api.IsValueCreated;

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public DiscoveryMetrics Metrics { get; }

    public bool IsInCluster { get; }

    public string DefaultNamespace { get; }

    public NodeAddressCache Nodes { get; }

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
