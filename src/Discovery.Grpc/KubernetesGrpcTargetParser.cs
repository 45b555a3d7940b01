using System.Globalization;

namespace Discovery.Grpc;

/// <summary>
/// Reads a <c>kubernetes:</c> channel address. The forms are those of Go's kuberesolver, with the host forms of the discovery core
/// (see <see cref="ServiceHostParser"/>) in place of its Service name:
/// <c>kubernetes:///alpaca-prod</c>, <c>kubernetes:///alpaca-prod:50051</c>, <c>kubernetes:///alpaca-prod.demo:grpc</c>,
/// <c>kubernetes:///_grpc.alpaca-prod.demo.svc.cluster.local</c>, <c>kubernetes://demo/alpaca-prod:grpc</c> (namespace as the
/// authority) and <c>kubernetes://alpaca-prod.demo:50051/</c>.
/// </summary>
internal static class KubernetesGrpcTargetParser
{
    private const int MaxPort = 65535;

    /// <summary>Parses <paramref name="address"/>.</summary>
    /// <exception cref="InvalidServiceNameException">The address names no Service, or a malformed one; the message says why.</exception>
    public static KubernetesGrpcTarget Parse(Uri address, ServiceHostParser parser)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(parser);
        var written = address.OriginalString;
        var path = Uri.UnescapeDataString(address.AbsolutePath).Trim('/');
        var host = address.Host;
        string? explicitNamespace = null;
        string target;
        if (host.Length == 0)
        {
            // kubernetes:///name[:port] (the usual form), or kubernetes:///namespace/name[:port].
            target = path;
            var slash = target.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                explicitNamespace = target[..slash];
                target = target[(slash + 1)..];
            }
        }
        else if (path.Length > 0)
        {
            // kubernetes://namespace/name[:port]
            if (!address.IsDefaultPort)
            {
                throw Invalid(written, "a namespace given as the authority cannot have a port (write kubernetes://<namespace>/<service>:<port>)");
            }

            explicitNamespace = host;
            target = path;
        }
        else
        {
            // kubernetes://name[:port]/
            target = address.IsDefaultPort ? host : host + ":" + address.Port.ToString(CultureInfo.InvariantCulture);
        }

        if (target.Length == 0)
        {
            throw Invalid(written, "it names no Service (write kubernetes:///<service>[.<namespace>][:<port number or name>])");
        }

        if (target.Contains('/', StringComparison.Ordinal))
        {
            throw Invalid(written, "it has more path segments than <namespace>/<service>");
        }

        string name = target;
        string? portName = null;
        int? port = null;
        var colon = target.LastIndexOf(':');
        if (colon >= 0)
        {
            name = target[..colon];
            var portText = target[(colon + 1)..];
            if (portText.Length > 0 && portText.All(char.IsAsciiDigit))
            {
                if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is 0 or > MaxPort)
                {
                    throw Invalid(written, $"the port {portText} is not between 1 and {MaxPort}");
                }

                port = number;
            }
            else
            {
                portName = portText.ToLowerInvariant();
            }
        }

        name = name.TrimEnd('.').ToLowerInvariant();
        var authorityHost = StripPortLabel(name);
        if (explicitNamespace is not null)
        {
            if (name.Contains('.', StringComparison.Ordinal) && !name.StartsWith('_'))
            {
                throw Invalid(written, "with the namespace given separately, the Service must be a single name");
            }

            authorityHost = authorityHost + "." + explicitNamespace.ToLowerInvariant();
            name = name + "." + explicitNamespace.ToLowerInvariant() + ".svc";
        }

        if (name.StartsWith('_'))
        {
            // A _name. label names the port; a port name after the colon as well would be ambiguous.
            if (portName is not null || port is not null)
            {
                throw Invalid(written, "it names the port twice (a _name. label and a :port)");
            }
        }
        else if (portName is not null)
        {
            // The core validates port names where they appear as a _name. label: put it there.
            name = "_" + portName + "." + name;
        }

        var parsed = parser.Parse(name);
        switch (parsed.Match)
        {
            case ServiceHostMatch.Service:
            case ServiceHostMatch.ServiceIfExists:
                // svc.ns is a Service here: kubernetes: addresses name nothing else.
                var authority = port is { } number ? authorityHost + ":" + number.ToString(CultureInfo.InvariantCulture) : authorityHost;
                return new KubernetesGrpcTarget(parsed.Service, parsed.PortName, port, authority);
            case ServiceHostMatch.Invalid:
                throw new InvalidServiceNameException(written, parsed.Error ?? "the name is malformed", parsed.Service);
            default:
                throw Invalid(written, "it is not a Kubernetes Service name (an IP literal, localhost or an external name); use a dns:/// or http:// address for those");
        }
    }

    /// <summary>The host without a leading <c>_name.</c> port label: the <c>:authority</c> names the Service, not its port.</summary>
    private static string StripPortLabel(string host)
    {
        if (!host.StartsWith('_'))
        {
            return host;
        }

        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? host : host[(dot + 1)..];
    }

    private static InvalidServiceNameException Invalid(string address, string reason) => new(address, reason);
}
