namespace Discovery;

/// <summary>An endpoint paired with the concrete port a request for one Service port goes to.</summary>
/// <remarks>Built once per snapshot and port so that the request path only reads.</remarks>
public sealed class EndpointTarget
{
    /// <summary>Creates a target.</summary>
    public EndpointTarget(ServiceEndpoint endpoint, int port)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        Port = port;
        Authority = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? "[" + endpoint.Address + "]:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : endpoint.Address + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The endpoint.</summary>
    public ServiceEndpoint Endpoint { get; }

    /// <summary>The port number on the endpoint.</summary>
    public int Port { get; }

    /// <summary><c>address:port</c> (<c>[v6]:port</c> for IPv6), ready to put in a URI.</summary>
    public string Authority { get; }

    /// <inheritdoc/>
    public override string ToString() => Endpoint.PodName is null ? Authority : $"{Authority} ({Endpoint.PodName})";
}
