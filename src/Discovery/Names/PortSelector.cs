using System.Collections.Immutable;
using System.Globalization;

namespace Discovery;

/// <summary>Maps a request's port to the endpoints' target ports (BRIEF §2.2). Runs once per snapshot and port; the result is cached.</summary>
/// <remarks>
/// Only TCP ports are ever selected: requests are HTTP, and a UDP or SCTP port of the same name or number (DNS publishes
/// 53 on both) would send them where nothing speaks HTTP. Non-TCP ports stay in the model for callers that read it.
/// </remarks>
internal static class PortSelector
{
    public static PortSelection Select(ServiceEndpointSnapshot snapshot, int? uriPort, string? portName, string scheme, string? defaultPortName)
    {
        var allServicePorts = snapshot.ServiceInfo?.Ports ?? [];
        if (allServicePorts.Length > 0)
        {
            var servicePorts = allServicePorts.RemoveAll(static p => !IsTcp(p.Protocol));
            if (servicePorts.IsEmpty)
            {
                throw NotFound(snapshot, "over TCP (the Service has none)");
            }

            return SelectByServicePorts(snapshot, servicePorts, uriPort, portName, scheme, defaultPortName);
        }

        var endpointPortNames = DistinctEndpointPortNames(snapshot);
        if (endpointPortNames.Count == 0)
        {
            return SelectWithoutPortInformation(snapshot, uriPort, portName, scheme);
        }

        return SelectByEndpointPorts(snapshot, endpointPortNames, uriPort, portName, scheme, defaultPortName);
    }

    public static bool IsTcp(string? protocol) => protocol is null || string.Equals(protocol, "TCP", StringComparison.OrdinalIgnoreCase);

    public static int? DefaultPortOfScheme(string scheme) => scheme.ToUpperInvariant() switch
    {
        "HTTP" or "WS" => 80,
        "HTTPS" or "WSS" => 443,
        _ => null,
    };

    private static PortSelection SelectByServicePorts(
        ServiceEndpointSnapshot snapshot, ImmutableArray<ServicePortInfo> servicePorts, int? uriPort, string? portName, string scheme, string? defaultPortName)
    {
        ServicePortInfo? chosen = null;
        string endpointPortName;
        if (portName is not null)
        {
            chosen = Find(servicePorts, portName);
            if (chosen is null && !AnyEndpointPublishes(snapshot, portName))
            {
                throw NotFound(snapshot, $"named '{portName}'");
            }

            endpointPortName = portName;
        }
        else if (uriPort is { } number)
        {
            foreach (var port in servicePorts)
            {
                if (port.Port == number)
                {
                    chosen = port;
                    break;
                }
            }

            if (chosen is null)
            {
                throw NotFound(snapshot, number.ToString(CultureInfo.InvariantCulture));
            }

            endpointPortName = chosen.Name;
        }
        else
        {
            chosen = servicePorts.Length == 1
                ? servicePorts[0]
                : Find(servicePorts, scheme.ToLowerInvariant()) ?? (defaultPortName is null ? null : Find(servicePorts, defaultPortName));
            if (chosen is null)
            {
                throw NotFound(snapshot, $"for scheme '{scheme}' (the Service has several ports and the URL names none)");
            }

            endpointPortName = chosen.Name;
        }

        var single = servicePorts.Length == 1;
        var numericTarget = chosen?.TargetPort is { } target && int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : (int?)null;
        var builder = ImmutableArray.CreateBuilder<EndpointTarget>(snapshot.UsableEndpoints.Length);
        string? appProtocol = chosen?.AppProtocol;
        foreach (var endpoint in snapshot.UsableEndpoints)
        {
            if (TryGetTcpPort(endpoint, endpointPortName, out var endpointPort))
            {
                appProtocol ??= endpointPort.AppProtocol;
                builder.Add(new EndpointTarget(endpoint, endpointPort.Port));
            }
            else if (single && endpoint.Ports.Length == 1 && IsTcp(endpoint.Ports[0].Protocol))
            {
                // A single Service port maps to a single endpoint port whatever either is called.
                builder.Add(new EndpointTarget(endpoint, endpoint.Ports[0].Port));
            }
            else if (endpoint.Ports.Length == 0 && (numericTarget ?? chosen?.Port) is { } fallbackPort)
            {
                // A slice with no ports list means "all ports": the target port is then the only thing we know.
                builder.Add(new EndpointTarget(endpoint, fallbackPort));
            }
        }

        return new PortSelection(snapshot, endpointPortName, chosen?.Port ?? uriPort, appProtocol, builder.ToImmutable());
    }

    private static PortSelection SelectByEndpointPorts(
        ServiceEndpointSnapshot snapshot, List<string> names, int? uriPort, string? portName, string scheme, string? defaultPortName)
    {
        string? name;
        if (portName is not null)
        {
            name = names.Contains(portName) ? portName : throw NotFound(snapshot, $"named '{portName}'");
        }
        else if (uriPort is { } number)
        {
            // Pod targets have no Service port to translate: the URI port is the pod port.
            var builder = ImmutableArray.CreateBuilder<EndpointTarget>(snapshot.UsableEndpoints.Length);
            string matchedName = string.Empty;
            string? protocol = null;
            foreach (var endpoint in snapshot.UsableEndpoints)
            {
                foreach (var port in endpoint.Ports)
                {
                    if (port.Port == number && IsTcp(port.Protocol))
                    {
                        matchedName = port.Name;
                        protocol ??= port.AppProtocol;
                    }
                }

                builder.Add(new EndpointTarget(endpoint, number));
            }

            return new PortSelection(snapshot, matchedName, number, protocol, builder.ToImmutable());
        }
        else if (names.Count == 1)
        {
            name = names[0];
        }
        else
        {
            var lower = scheme.ToLowerInvariant();
            name = names.Contains(lower) ? lower
                : defaultPortName is not null && names.Contains(defaultPortName) ? defaultPortName
                : throw NotFound(snapshot, $"for scheme '{scheme}' (the endpoints have several ports and the URL names none)");
        }

        var targets = ImmutableArray.CreateBuilder<EndpointTarget>(snapshot.UsableEndpoints.Length);
        string? appProtocol = null;
        foreach (var endpoint in snapshot.UsableEndpoints)
        {
            if (TryGetTcpPort(endpoint, name, out var port))
            {
                appProtocol ??= port.AppProtocol;
                targets.Add(new EndpointTarget(endpoint, port.Port));
            }
        }

        return new PortSelection(snapshot, name, null, appProtocol, targets.ToImmutable());
    }

    private static PortSelection SelectWithoutPortInformation(ServiceEndpointSnapshot snapshot, int? uriPort, string? portName, string scheme)
    {
        if (portName is not null)
        {
            throw NotFound(snapshot, $"named '{portName}'");
        }

        var port = uriPort ?? DefaultPortOfScheme(scheme) ?? throw NotFound(snapshot, $"for scheme '{scheme}' (no port in the URL and no default for the scheme)");
        var builder = ImmutableArray.CreateBuilder<EndpointTarget>(snapshot.UsableEndpoints.Length);
        foreach (var endpoint in snapshot.UsableEndpoints)
        {
            builder.Add(new EndpointTarget(endpoint, port));
        }

        return new PortSelection(snapshot, string.Empty, port, null, builder.ToImmutable());
    }

    private static ServicePortInfo? Find(ImmutableArray<ServicePortInfo> ports, string name)
    {
        foreach (var port in ports)
        {
            if (string.Equals(port.Name, name, StringComparison.Ordinal))
            {
                return port;
            }
        }

        return null;
    }

    private static bool AnyEndpointPublishes(ServiceEndpointSnapshot snapshot, string name)
    {
        foreach (var endpoint in snapshot.Endpoints)
        {
            if (TryGetTcpPort(endpoint, name, out _))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryGetTcpPort(ServiceEndpoint endpoint, string name, out EndpointPort port)
    {
        foreach (var candidate in endpoint.Ports)
        {
            if (string.Equals(candidate.Name, name, StringComparison.Ordinal) && IsTcp(candidate.Protocol))
            {
                port = candidate;
                return true;
            }
        }

        port = default;
        return false;
    }

    private static List<string> DistinctEndpointPortNames(ServiceEndpointSnapshot snapshot)
    {
        // A set beside the ordered list: pods can each publish their own port names, and a list lookup per port would make
        // one huge set quadratic.
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in snapshot.Endpoints)
        {
            foreach (var port in endpoint.Ports)
            {
                if (IsTcp(port.Protocol) && seen.Add(port.Name))
                {
                    names.Add(port.Name);
                }
            }
        }

        return names;
    }

    private static ServicePortNotFoundException NotFound(ServiceEndpointSnapshot snapshot, string requested)
    {
        var available = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var servicePorts = snapshot.ServiceInfo?.Ports ?? [];
        if (servicePorts.Length > 0)
        {
            foreach (var port in servicePorts)
            {
                available.Add(Describe(port.Name, port.Port, port.Protocol));
            }
        }
        else
        {
            foreach (var endpoint in snapshot.Endpoints)
            {
                foreach (var port in endpoint.Ports)
                {
                    var described = Describe(port.Name, port.Port, port.Protocol);
                    if (seen.Add(described))
                    {
                        available.Add(described);
                    }
                }
            }
        }

        return new ServicePortNotFoundException(snapshot.Service, requested, available);
    }

    private static string Describe(string name, int port, string? protocol)
    {
        var number = port.ToString(CultureInfo.InvariantCulture) + (IsTcp(protocol) ? string.Empty : "/" + protocol);
        return name.Length == 0 ? number + " (unnamed)" : $"{name} ({number})";
    }
}
