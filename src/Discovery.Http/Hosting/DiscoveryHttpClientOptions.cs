using System.ComponentModel.DataAnnotations;

namespace Discovery.Http;

/// <summary>
/// Options of service discovery for one <see cref="HttpClient"/> of <c>IHttpClientFactory</c> (named by the client name),
/// bound from the configuration section <c>Discovery:Http</c> for every client and <c>Discovery:Http:Clients:&lt;name&gt;</c> for one.
/// </summary>
public sealed class DiscoveryHttpClientOptions
{
    /// <summary>The configuration section that applies to every client.</summary>
    public const string SectionName = "Discovery:Http";

    /// <summary>The environment variable read for <see cref="Zone"/> when it is not set.</summary>
    public const string ZoneEnvironmentVariable = "DISCOVERY_ZONE";

    /// <summary>Whether the client resolves Kubernetes Service hosts. Default <see langword="true"/>; <see langword="false"/> leaves every request untouched.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The name of the load-balancing policy (<see cref="LoadBalancingPolicyNames"/>, or the <see cref="ILoadBalancingPolicy.Name"/>
    /// of a policy registered in the service collection). Default <see cref="LoadBalancingPolicyNames.PowerOfTwoChoices"/>.
    /// </summary>
    [Required]
    public string LoadBalancingPolicy { get; set; } = LoadBalancingPolicyNames.PowerOfTwoChoices;

    /// <summary>A policy instance to use instead of looking <see cref="LoadBalancingPolicy"/> up by name (code only).</summary>
    public ILoadBalancingPolicy? Policy { get; set; }

    /// <summary>
    /// How many times a request that failed before it was sent (connection refused or reset while connecting) is retried,
    /// each time on an endpoint not yet tried for it. Default 1.
    /// </summary>
    [Range(0, 100)]
    public int MaxConnectFailureRetries { get; set; } = 1;

    /// <summary>
    /// How many times an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) with no or buffered content is retried on
    /// another endpoint after a failure once it was sent (an error while waiting for the response, a timeout, or a 502, 503 or 504).
    /// Default 0: leave that to an outer resilience handler.
    /// </summary>
    [Range(0, 100)]
    public int MaxRetriesAfterSend { get; set; }

    /// <summary>A timeout per attempt on one endpoint; when it expires the attempt counts as a failure of that endpoint. Default none.</summary>
    public TimeSpan? AttemptTimeout { get; set; }

    /// <summary>
    /// The zone this application runs in, for zone-aware routing. Default: the <c>DISCOVERY_ZONE</c> environment variable.
    /// Without a zone every endpoint is used alike.
    /// </summary>
    public string? Zone { get; set; }

    /// <summary>Whether requests prefer endpoints in (or hinted for) <see cref="Zone"/>. Default <see langword="true"/>.</summary>
    public bool PreferLocalZone { get; set; } = true;

    /// <summary>
    /// The least share (0 to 1) of a Service's healthy endpoints that must be local for traffic to stay in the zone; below it
    /// requests go to all zones so that a thinly populated zone is not overloaded. Default 0.2.
    /// </summary>
    [Range(0.0, 1.0)]
    public double MinLocalZoneShare { get; set; } = 0.2;

    /// <summary>
    /// Slow start: an endpoint that became ready less than this long ago receives a share of requests that grows linearly from
    /// a tenth to its full share over the window (a cold JIT and empty caches make a new pod's first requests slow). Applies
    /// to every policy; endpoints already there when the client first sends to a Service are not slowed. Default: unset (off).
    /// </summary>
    public TimeSpan? SlowStartWindow { get; set; }

    /// <summary>Passive health checking and ejection.</summary>
    public PassiveHealthOptions PassiveHealth { get; } = new();

    /// <summary>
    /// Whether HTTPS to a pod address accepts a certificate issued for the Service's DNS names
    /// (<c>svc</c>, <c>svc.ns</c>, <c>svc.ns.svc</c>, <c>svc.ns.svc.&lt;cluster-domain&gt;</c>) when the host in the URL is another of them.
    /// The chain is validated as usual. Default <see langword="true"/>.
    /// </summary>
    public bool ValidateCertificateAgainstServiceNames { get; set; } = true;

    /// <summary>
    /// Whether metrics carry per-endpoint tags (<c>network.peer.address</c>, <c>network.peer.port</c>, <c>k8s.pod.name</c>). Default
    /// <see langword="false"/>: their values change with every pod that comes and goes, so each would add time series without bound.
    /// The attempt activities carry them regardless.
    /// </summary>
    public bool EndpointMetricTags { get; set; }

    /// <summary>Whether a port's <c>appProtocol</c> (<c>kubernetes.io/h2c</c>) sets the request's HTTP version. Default <see langword="true"/>.</summary>
    public bool UseAppProtocol { get; set; } = true;
}
