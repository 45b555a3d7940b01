namespace Discovery.Http;

/// <summary>Names of the meter and instruments Discovery.Http reports, for OpenTelemetry and <c>dotnet-counters</c>.</summary>
public static class DiscoveryHttpInstrumentation
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name.</summary>
    public const string MeterName = "Discovery.Http";

    /// <summary>Counter of endpoints picked for an attempt, tagged with the Service, namespace, endpoint, pod and zone.</summary>
    public const string Picks = "discovery.http.client.picks";

    /// <summary>Up-down counter of attempts waiting for response headers, tagged with the Service and namespace.</summary>
    public const string ActiveRequests = "discovery.http.client.active_requests";

    /// <summary>Histogram of attempt durations to response headers in seconds, tagged with the Service, namespace, endpoint and status code or error type.</summary>
    public const string RequestDuration = "discovery.http.client.request.duration";

    /// <summary>Counter of passive-health ejections, tagged with the Service, namespace, endpoint and reason.</summary>
    public const string Ejections = "discovery.http.client.ejections";

    /// <summary>Counter of ejected endpoints back in rotation after their ejection ended, tagged with the Service, namespace, endpoint and pod.</summary>
    public const string Readmissions = "discovery.http.client.readmissions";

    /// <summary>Counter of retries on another endpoint, tagged with the Service, namespace and reason.</summary>
    public const string Retries = "discovery.http.client.retries";

    /// <summary>Tag of the Service's namespace.</summary>
    public const string NamespaceTag = "k8s.namespace.name";

    /// <summary>Tag of the Service name.</summary>
    public const string ServiceTag = "k8s.service.name";

    /// <summary>Tag of the endpoint's pod name, when known.</summary>
    public const string PodTag = "k8s.pod.name";

    /// <summary>Tag of the endpoint's <c>address:port</c>.</summary>
    public const string EndpointTag = "discovery.endpoint";

    /// <summary>Tag of the endpoint's address.</summary>
    public const string EndpointAddressTag = "discovery.endpoint.address";

    /// <summary>Tag of the endpoint's zone, when known.</summary>
    public const string ZoneTag = "discovery.endpoint.zone";

    /// <summary>Tag of the reason for an ejection or retry (<c>connect_failure</c>, <c>server_error</c>, <c>timeout</c>, <c>error</c>).</summary>
    public const string ReasonTag = "discovery.reason";
}
