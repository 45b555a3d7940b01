using Microsoft.Extensions.Logging;

namespace Discovery.ServiceDiscovery;

/// <summary>
/// Says once per Service port what MESD cannot do for it: send HTTP/2 with prior knowledge to a <c>kubernetes.io/h2c</c> port.
/// Shared by the providers of one factory; the set remembered is capped, as Service names come from request hosts.
/// </summary>
internal sealed class ServiceNotices(ILogger logger)
{
    private const int Capacity = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(ServiceKey Service, string Port), byte> _told = new();

    public void H2cPort(ServiceKey service, string port)
    {
        if (First(service, port))
        {
            Log.H2cPort(logger, service.Namespace, service.Name, port);
        }
    }

    private bool First(ServiceKey service, string port) => _told.Count < Capacity && _told.TryAdd((service, port), 0);
}
