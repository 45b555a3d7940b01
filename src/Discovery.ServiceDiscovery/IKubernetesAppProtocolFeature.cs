namespace Discovery.ServiceDiscovery;

/// <summary>
/// A feature of each MESD <c>ServiceEndpoint</c> this provider resolves from a Service port that publishes an
/// <c>appProtocol</c> (<c>endpoint.Features.Get&lt;IKubernetesAppProtocolFeature&gt;()</c>).
/// </summary>
/// <remarks>
/// MESD's HttpClient handler rewrites only a request's address and Host, never its HTTP version: a client of a
/// <c>kubernetes.io/h2c</c> port must send HTTP/2 itself (<c>DefaultRequestVersion = HttpVersion.Version20</c>,
/// <c>DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact</c>; gRPC channels do). Code that reads MESD's
/// <c>ServiceEndpointResolver</c> directly can read the protocol here.
/// </remarks>
public interface IKubernetesAppProtocolFeature
{
    /// <summary>The port's <c>appProtocol</c> as published, for example <c>kubernetes.io/h2c</c>.</summary>
    string AppProtocol { get; }

    /// <summary>
    /// Whether requests to the endpoint must be HTTP/2 with prior knowledge: the port is <c>kubernetes.io/h2c</c> and the
    /// endpoint is reached over <c>http://</c>.
    /// </summary>
    bool RequiresHttp2PriorKnowledge { get; }
}
