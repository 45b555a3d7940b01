using Microsoft.Extensions.Logging;

namespace Discovery.ServiceDiscovery;

/// <summary>
/// Says once per Service port that MESD's handler cannot send HTTP/2 with prior knowledge by itself. Shared by the providers of
/// one factory; the set of ports remembered is capped, as Service names come from request hosts.
/// </summary>
internal sealed class H2cNotice(ILogger logger)
{
    private const int Capacity = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(ServiceKey Service, string Port), byte> _told = new();

    public void Tell(ServiceKey service, string port)
    {
        if (_told.Count >= Capacity || !_told.TryAdd((service, port), 0))
        {
            return;
        }

        Log.H2cPort(logger, service.Namespace, service.Name, port);
    }
}
