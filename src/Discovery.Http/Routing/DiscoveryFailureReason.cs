namespace Discovery.Http;

/// <summary>Why service discovery could not send a request.</summary>
public enum DiscoveryFailureReason
{
    /// <summary>Any other reason.</summary>
    Unknown,

    /// <summary>The Service does not exist in the namespace.</summary>
    ServiceNotFound,

    /// <summary>The Service exists but no endpoint may receive traffic.</summary>
    NoReadyEndpoints,

    /// <summary>Kubernetes RBAC refused to list the Service's endpoints.</summary>
    Forbidden,

    /// <summary>The Kubernetes API could not be reached before the Service's initial sync timed out.</summary>
    ApiUnavailable,

    /// <summary>The request's port matches no port of the Service.</summary>
    PortNotFound,

    /// <summary>The host looks like a Service name but is malformed.</summary>
    InvalidServiceName,

    /// <summary>The Service's namespace is outside the configured allow-list.</summary>
    NamespaceNotAllowed,

    /// <summary>The load-balancing policy picked no endpoint.</summary>
    NoEndpointPicked,

    /// <summary>The app already watches as many Services as <c>Discovery:MaxWatchers</c> allows, and none is idle.</summary>
    WatcherLimitExceeded,

    /// <summary>The Service has <c>internalTrafficPolicy: Local</c> and the node this application runs on is unknown.</summary>
    NodeNameUnknown,
}
