using System.Net;

namespace Discovery.Http;

/// <summary>
/// A request to a Kubernetes Service could not be sent because discovery failed. The message names the Service, its namespace
/// and what to do; <see cref="Exception.InnerException"/> is the <see cref="DiscoveryException"/> from the core, when there is one.
/// </summary>
/// <remarks>
/// <see cref="HttpRequestException.HttpRequestError"/> is <see cref="HttpRequestError.NameResolutionError"/>: like a failed DNS
/// lookup, nothing was sent.
/// </remarks>
public sealed class DiscoveryHttpRequestException : HttpRequestException
{
    /// <summary>Creates the exception from a core discovery error.</summary>
    public DiscoveryHttpRequestException(DiscoveryException innerException)
        : this(ReasonOf(innerException), innerException?.Service ?? default, innerException?.Message ?? string.Empty, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Why discovery failed.</param>
    /// <param name="service">The Service concerned.</param>
    /// <param name="message">What happened, naming the Service and namespace and what to do.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DiscoveryHttpRequestException(DiscoveryFailureReason reason, ServiceKey service, string message, Exception? innerException = null)
        : base(HttpRequestError.NameResolutionError, message, innerException, (HttpStatusCode?)null)
    {
        Reason = reason;
        Service = service;
    }

    /// <summary>Why discovery failed.</summary>
    public DiscoveryFailureReason Reason { get; }

    /// <summary>The Service concerned.</summary>
    public ServiceKey Service { get; }

    /// <summary>The Service name concerned.</summary>
    public string? ServiceName => Service.Name;

    /// <summary>The namespace concerned.</summary>
    public string? Namespace => Service.Namespace;

    private static DiscoveryFailureReason ReasonOf(DiscoveryException? exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            ServiceNotFoundException => DiscoveryFailureReason.ServiceNotFound,
            NoReadyEndpointsException => DiscoveryFailureReason.NoReadyEndpoints,
            KubernetesForbiddenException => DiscoveryFailureReason.Forbidden,
            KubernetesApiUnavailableException => DiscoveryFailureReason.ApiUnavailable,
            ServicePortNotFoundException => DiscoveryFailureReason.PortNotFound,
            InvalidServiceNameException => DiscoveryFailureReason.InvalidServiceName,
            NamespaceNotAllowedException => DiscoveryFailureReason.NamespaceNotAllowed,
            WatcherLimitExceededException => DiscoveryFailureReason.WatcherLimitExceeded,
            NodeNameUnknownException => DiscoveryFailureReason.NodeNameUnknown,
            _ => DiscoveryFailureReason.Unknown,
        };
    }
}
