namespace Discovery;

/// <summary>Where a snapshot's endpoints come from.</summary>
public enum EndpointSourceKind
{
    /// <summary>discovery.k8s.io/v1 EndpointSlices labelled with the Service name (the default).</summary>
    EndpointSlices,

    /// <summary>core/v1 Endpoints (older clusters, or where only that is permitted).</summary>
    Endpoints,

    /// <summary>Pods selected by a label selector, for workloads without a Service.</summary>
    Pods,

    /// <summary>The ExternalName of the Service.</summary>
    ExternalName,

    /// <summary>The <c>&lt;SVC&gt;_SERVICE_HOST</c>/<c>_PORT</c> environment variables (opt-in fallback).</summary>
    EnvironmentVariables,

    /// <summary>Plain DNS to the Service's cluster IP (opt-in fallback).</summary>
    Dns,
}
