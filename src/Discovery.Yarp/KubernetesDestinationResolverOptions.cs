namespace Discovery.Yarp;

/// <summary>Options of the Kubernetes destination resolver for YARP.</summary>
public sealed class KubernetesDestinationResolverOptions
{
    /// <summary>
    /// The shortest time between two reloads that endpoint changes cause. YARP reloads its whole configuration (every
    /// cluster) when a resolution's change token fires, so a burst of changes (a rollout) must not cost one reload each. The
    /// first change after a quiet period is passed on at once; later ones within this interval are gathered into one reload
    /// at its end. Default 250 ms; <see cref="TimeSpan.Zero"/> passes every change on at once.
    /// </summary>
    public TimeSpan MinimumReloadInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Whether each expanded destination gets the Service name as written (<c>alpaca-prod</c>, with its port if the address
    /// had one) as its Host, when the destination does not configure one. Default <see langword="true"/>; with
    /// <see langword="false"/> YARP's own rule applies (the pod's address).
    /// </summary>
    public bool UseServiceNameAsHost { get; set; } = true;

    /// <summary>
    /// Whether a Service port's <c>appProtocol</c> of <c>kubernetes.io/h2c</c> sets the HTTP version of the YARP cluster that
    /// routes to it: HTTP/2 with prior knowledge (<c>Version</c> 2.0, <c>RequestVersionExact</c>) instead of YARP's default,
    /// which is HTTP/1.1 over <c>http://</c>. YARP's version is per cluster, so it applies when every destination of the cluster
    /// is on such a port and the cluster's <c>HttpRequest</c> sets neither <c>Version</c> nor <c>VersionPolicy</c>; otherwise a
    /// warning names the cluster once. Default <see langword="true"/>, as on the HttpClient path.
    /// </summary>
    public bool UseAppProtocol { get; set; } = true;
}
