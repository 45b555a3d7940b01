namespace Discovery.ServiceDiscovery;

/// <summary>
/// A MESD query read as a Kubernetes Service request, once per provider: which Service, which port (MESD's endpoint name is
/// the port name; an explicit URI port is the Service port number) and the schemes in order of preference.
/// </summary>
internal sealed class KubernetesEndpointQuery
{
    private KubernetesEndpointQuery(string? original, ServiceHostParseResult parse, string? portName, int? uriPort, string[] schemes, string hostName)
    {
        Original = original;
        Parse = parse;
        PortName = portName;
        UriPort = uriPort;
        Schemes = schemes;
        HostName = hostName;
    }

    /// <summary>The query as MESD received it (<c>https+http://_grpc.alpaca-prod</c>).</summary>
    public string? Original { get; }

    /// <summary>How the host names a Service.</summary>
    public ServiceHostParseResult Parse { get; }

    /// <summary>The Service.</summary>
    public ServiceKey Service => Parse.Service;

    /// <summary>MESD's endpoint name (<c>_grpc.</c>), which selects the endpoint port of that name.</summary>
    public string? PortName { get; }

    /// <summary>A port written in the URI: the Service port with that number.</summary>
    public int? UriPort { get; }

    /// <summary>The allowed schemes of the query in order of preference; empty when the query has none.</summary>
    public string[] Schemes { get; }

    /// <summary>The host as written, without the endpoint-name label: the Host header the pods expect.</summary>
    public string HostName { get; }

    public static KubernetesEndpointQuery Create(Microsoft.Extensions.ServiceDiscovery.ServiceEndpointQuery query, ServiceHostParser parser, IReadOnlyList<string> allowedSchemes)
    {
        var original = query.ToString();
        var parse = parser.Parse(query.ServiceName);
        return new KubernetesEndpointQuery(original, parse, query.EndpointName, ReadUriPort(original), [.. allowedSchemes], query.ServiceName);
    }

    /// <summary>
    /// Picks the Service port and the scheme to reach it with, following MESD's rules: a named endpoint is the port of that
    /// name; otherwise each scheme, in order, is tried as a port name (<c>https+http</c> prefers a port named <c>https</c>,
    /// then one named <c>http</c>); otherwise the Service's only port (or the configured default) with the first scheme.
    /// </summary>
    /// <exception cref="ServicePortNotFoundException">No port matches; the message lists the port names.</exception>
    public (string? Scheme, PortSelection Selection) SelectPort(ServiceEndpointSnapshot snapshot, string? defaultPortName)
    {
        var first = Schemes.Length > 0 ? Schemes[0] : null;
        if (PortName is not null || UriPort is not null)
        {
            return (first, snapshot.SelectPort(UriPort, PortName, first ?? Uri.UriSchemeHttp, defaultPortName));
        }

        foreach (var scheme in Schemes)
        {
            if (HasTcpPortNamed(snapshot, scheme))
            {
                return (scheme, snapshot.SelectPort(null, scheme, scheme, defaultPortName));
            }
        }

        return (first, snapshot.SelectPort(null, null, first ?? Uri.UriSchemeHttp, defaultPortName));
    }

    private static bool HasTcpPortNamed(ServiceEndpointSnapshot snapshot, string name)
    {
        if (snapshot.ServiceInfo is { Ports.Length: > 0 } info)
        {
            foreach (var port in info.Ports)
            {
                if (string.Equals(port.Name, name, StringComparison.OrdinalIgnoreCase) && IsTcp(port.Protocol))
                {
                    return true;
                }
            }

            return false;
        }

        foreach (var endpoint in snapshot.Endpoints)
        {
            if (endpoint.TryGetPort(name, out var port) && IsTcp(port.Protocol))
            {
                return true;
            }
        }

        return false;
    }

    private static int? ReadUriPort(string? original)
    {
        if (string.IsNullOrEmpty(original))
        {
            return null;
        }

        // MESD drops the port from ServiceName; the original string still has it.
        var text = original.Contains("://", StringComparison.Ordinal) ? original : "fakescheme://" + original;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Port < 0 || uri.IsDefaultPort)
        {
            return null;
        }

        return uri.Port;
    }

    private static bool IsTcp(string? protocol) => protocol is null || string.Equals(protocol, "TCP", StringComparison.OrdinalIgnoreCase);
}
