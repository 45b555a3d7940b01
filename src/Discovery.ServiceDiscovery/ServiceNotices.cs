using Microsoft.Extensions.Logging;

namespace Discovery.ServiceDiscovery;

/// <summary>
/// Says once per Service (port) what MESD cannot do for it: send HTTP/2 with prior knowledge to a <c>kubernetes.io/h2c</c> port,
/// or keep a node-local Service (<c>internalTrafficPolicy: Local</c>) on this node. Shared by the providers of one factory; the
/// set remembered is capped, as Service names come from request hosts.
/// </summary>
internal sealed class ServiceNotices(ILogger logger)
{
    private const int Capacity = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(ServiceKey Service, string Port, bool Local), byte> _told = new();

    public void H2cPort(ServiceKey service, string port)
    {
        if (First(service, port, local: false))
        {
            Log.H2cPort(logger, service.Namespace, service.Name, port);
        }
    }

    public void LocalTrafficPolicy(ServiceKey service, int endpoints)
    {
        if (First(service, string.Empty, local: true))
        {
            Log.LocalTrafficPolicyNotApplied(logger, service.Namespace, service.Name, endpoints);
        }
    }

    private bool First(ServiceKey service, string port, bool local) => _told.Count < Capacity && _told.TryAdd((service, port, local), 0);
}
