using System.ComponentModel.DataAnnotations;

namespace Discovery;

/// <summary>Options of the discovery core, bound from the configuration section <c>Discovery</c>.</summary>
public sealed class KubernetesDiscoveryOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Discovery";

    /// <summary>The environment variable read for <see cref="NodeName"/> when it is not set (the Downward API's <c>spec.nodeName</c>).</summary>
    public const string NodeNameEnvironmentVariable = "NODE_NAME";

    /// <summary>
    /// The node this application runs on, for <c>internalTrafficPolicy: Local</c> and same-node topology hints. Default: the
    /// <c>NODE_NAME</c> environment variable, which a pod sets from the Downward API (<c>fieldRef: spec.nodeName</c>).
    /// </summary>
    public string? NodeName { get; set; }

    /// <summary>
    /// The zone this application runs in, for topology hints and <c>trafficDistribution</c>. Default: the
    /// <c>topology.kubernetes.io/zone</c> label of the node <see cref="NodeName"/> (read once with <c>get nodes</c>; see docs/rbac.md).
    /// </summary>
    public string? Zone { get; set; }

    /// <summary>The namespace of short names (<c>http://alpaca-prod/</c>). Default: the pod's own namespace (service-account file), then <c>default</c>.</summary>
    public string? Namespace { get; set; }

    /// <summary>The cluster DNS domain. Default <c>cluster.local</c>.</summary>
    [Required]
    public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>The file holding the pod's namespace when running in a cluster.</summary>
    public string ServiceAccountNamespacePath { get; set; } = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    /// <summary>
    /// Where the endpoints of Services come from: <see cref="EndpointSourceKind.EndpointSlices"/> (default, falling back to
    /// Endpoints automatically) or <see cref="EndpointSourceKind.Endpoints"/>. Other values are refused at startup; names
    /// discovered from pods are chosen with <see cref="PodSelectors"/>, whatever the source.
    /// </summary>
    public EndpointSourceKind Source { get; set; } = EndpointSourceKind.EndpointSlices;

    /// <summary>Whether to fall back to core/v1 Endpoints when EndpointSlices are not served or not permitted. Default true.</summary>
    public bool FallbackToEndpoints { get; set; } = true;

    /// <summary>
    /// Whether each Service is watched on its own (<see cref="WatchScope.Service"/>), every Service in use in a namespace
    /// shares one Service watch and one EndpointSlice watch (<see cref="WatchScope.Namespace"/>): far fewer streams and
    /// less memory when many Services of a namespace are used, at the cost of holding every Service and EndpointSlice of
    /// those namespaces in memory; or the first until a namespace has more than <see cref="NamespaceWatchThreshold"/>
    /// Services in use, then the second for that namespace (<see cref="WatchScope.Auto"/>, the default).
    /// </summary>
    public WatchScope WatchScope { get; set; } = WatchScope.Auto;

    /// <summary>
    /// With <see cref="WatchScope.Auto"/>: how many Services of one namespace may be watched per Service; when one more
    /// is used, the namespace moves onto a shared namespace watch. Default 20.
    /// </summary>
    [Range(1, 100_000)]
    public int NamespaceWatchThreshold { get; set; } = 20;

    /// <summary>Which address of each endpoint to connect to. Default <see cref="AddressMode.Auto"/>.</summary>
    public AddressMode AddressMode { get; set; } = AddressMode.Auto;

    /// <summary>Whether endpoints that are not ready still receive traffic. Default false.</summary>
    public bool IncludeNotReadyEndpoints { get; set; }

    /// <summary>The port name used when a request names no port and the Service has several, none named like the scheme.</summary>
    public string? DefaultPortName { get; set; }

    /// <summary>A watcher unused for this long is stopped. Default 15 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The most Services one resolver watches at once. Default 10,000. Hosts can come from user input, and each new one
    /// starts a watcher: at the cap, idle watchers are stopped first, then lookups of further Services fail with
    /// <see cref="WatcherLimitExceededException"/>.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxWatchers { get; set; } = 10_000;

    /// <summary>
    /// The longest a single list request may take before it is abandoned and retried with back-off, like any other
    /// failure (the client's own HTTP timeout is 100 seconds). Default 30 seconds. Watches are bounded separately by
    /// <see cref="WatchTimeout"/> plus <see cref="WatchGracePeriod"/>; the first lookup still waits at most
    /// <see cref="InitialSyncTimeout"/>.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the first lookup of a Service waits for its initial list. Default 10 seconds.</summary>
    public TimeSpan InitialSyncTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The server-side watch timeout asked for (jittered by up to 20 %). Default 5 minutes.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long past the watch timeout the client waits before declaring a silent stream dead. Default 30 seconds.</summary>
    public TimeSpan WatchGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First reconnect delay (jittered, exponential). Default 1 second.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Reconnect delay cap. Default 30 seconds.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a <c>name.namespace</c> host that is not a Service the app can see (none of that name, or RBAC refuses the
    /// namespace) is remembered as such: its requests go to DNS without asking the API again meanwhile, and no watcher runs
    /// for it. Such hosts are the shape of external names (<c>example.com</c>, <c>shop.internal</c>). A Service created under
    /// that name is used after at most this long. Default 3 minutes.
    /// </summary>
    public TimeSpan NegativeCacheDuration { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>A watcher whose last successful contact with the API is older than this is reported stale. Default 5 minutes.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Services (<c>name</c> or <c>name.namespace</c>) whose watchers start at application start.</summary>
    public IList<string> PrewarmServices { get; } = [];

    /// <summary>Namespaces requests may resolve Services in. Empty: every namespace the credentials can read.</summary>
    public IList<string> AllowedNamespaces { get; } = [];

    /// <summary>Pod label-selector targets for workloads without a Service: name → selector (for example <c>app=alpaca,env=prod</c>).</summary>
    public IDictionary<string, string> PodSelectors { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether to fall back to the <c>&lt;SVC&gt;_SERVICE_HOST</c>/<c>_PORT</c> environment variables when the API cannot be
    /// used. Default false. Each Service's use of it is logged once (a warning) for the resolver's lifetime.
    /// </summary>
    public bool UseEnvironmentVariableFallback { get; set; }

    /// <summary>
    /// Whether to fall back to plain DNS (the cluster IP) when the API cannot be used. Default false. Each Service's use of
    /// it is logged once (a warning) for the resolver's lifetime.
    /// </summary>
    public bool UseDnsFallback { get; set; }

    /// <summary>A kubeconfig file to use instead of the in-cluster configuration.</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>The kubeconfig context to use.</summary>
    public string? KubeconfigContext { get; set; }
}
