namespace Discovery.Http;

/// <summary>
/// Names of the meter, activity source, instruments and tags Discovery.Http reports, for OpenTelemetry and <c>dotnet-counters</c>.
/// Tags follow the OpenTelemetry semantic conventions where one exists; by default no tag names an endpoint or pod (their
/// number grows with pod churn): <see cref="DiscoveryHttpClientOptions.EndpointMetricTags"/> adds them.
/// </summary>
public static class DiscoveryHttpInstrumentation
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name.</summary>
    public const string MeterName = "Discovery.Http";

    /// <summary>
    /// The <see cref="System.Diagnostics.ActivitySource"/> name. Each attempt of a request on one endpoint is an activity
    /// (<see cref="AttemptActivityName"/>), the parent of that attempt's <c>System.Net.Http</c> client span.
    /// </summary>
    public const string ActivitySourceName = "Discovery.Http";

    /// <summary>The name of the activity of one attempt, tagged with the Service, namespace, chosen pod and endpoint, and resend count.</summary>
    public const string AttemptActivityName = "discovery.http.attempt";

    /// <summary>Counter of endpoints picked for an attempt, tagged with the Service, namespace and zone.</summary>
    public const string Picks = "discovery.http.client.picks";

    /// <summary>Up-down counter of attempts waiting for response headers, tagged with the Service and namespace.</summary>
    public const string ActiveRequests = "discovery.http.client.active_requests";

    /// <summary>
    /// Histogram of attempt durations to response headers in seconds, tagged with the Service, namespace, <c>server.address</c>,
    /// <c>server.port</c>, <c>url.scheme</c>, <c>http.request.method</c>, and <c>http.response.status_code</c> or <c>error.type</c>.
    /// </summary>
    public const string RequestDuration = "discovery.http.client.request.duration";

    /// <summary>Counter of passive-health ejections, tagged with the Service, namespace and reason.</summary>
    public const string Ejections = "discovery.http.client.ejections";

    /// <summary>Counter of ejected endpoints back in rotation after their ejection ended, tagged with the Service and namespace.</summary>
    public const string Readmissions = "discovery.http.client.readmissions";

    /// <summary>Counter of retries on another endpoint, tagged with the Service, namespace and reason.</summary>
    public const string Retries = "discovery.http.client.retries";

    /// <summary>Tag of the Service's namespace.</summary>
    public const string NamespaceTag = "k8s.namespace.name";

    /// <summary>Tag of the Service name.</summary>
    public const string ServiceTag = "k8s.service.name";

    /// <summary>Tag of the endpoint's pod name, when known (per endpoint: metrics only with <see cref="DiscoveryHttpClientOptions.EndpointMetricTags"/>).</summary>
    public const string PodTag = "k8s.pod.name";

    /// <summary>Tag of the endpoint's address, the pod IP (per endpoint: metrics only with <see cref="DiscoveryHttpClientOptions.EndpointMetricTags"/>).</summary>
    public const string PeerAddressTag = "network.peer.address";

    /// <summary>Tag of the endpoint's port, the pod's target port (per endpoint: metrics only with <see cref="DiscoveryHttpClientOptions.EndpointMetricTags"/>).</summary>
    public const string PeerPortTag = "network.peer.port";

    /// <summary>Tag of the host the request was written for (the Service host, such as <c>alpaca-prod</c>).</summary>
    public const string ServerAddressTag = "server.address";

    /// <summary>Tag of the port the request was written for (the Service port, or the scheme's default).</summary>
    public const string ServerPortTag = "server.port";

    /// <summary>Tag of the URI scheme.</summary>
    public const string SchemeTag = "url.scheme";

    /// <summary>Tag of the request method (<c>_OTHER</c> for a method outside RFC 9110 and PATCH).</summary>
    public const string MethodTag = "http.request.method";

    /// <summary>Tag of the response status code.</summary>
    public const string StatusCodeTag = "http.response.status_code";

    /// <summary>Tag of how a failed attempt ended (<c>connect_failure</c>, <c>server_error</c>, <c>timeout</c>, <c>canceled</c>, <c>tls_failure</c>, <c>error</c>).</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>Tag of the attempt's number within one send, on attempts after the first (1 for the first retry on another endpoint).</summary>
    public const string ResendCountTag = "http.request.resend_count";

    /// <summary>Tag of the endpoint's zone, when known.</summary>
    public const string ZoneTag = "discovery.endpoint.zone";

    /// <summary>Tag of the reason for an ejection or retry (<c>connect_failure</c>, <c>server_error</c>, <c>timeout</c>, <c>error</c>).</summary>
    public const string ReasonTag = "discovery.reason";
}
