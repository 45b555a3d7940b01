using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Discovery.Internal;

/// <summary>Starts the watchers of <see cref="KubernetesDiscoveryOptions.PrewarmServices"/> when the host starts, without delaying it.</summary>
internal sealed class DiscoveryPrewarmService(
    KubernetesServiceEndpointResolver resolver,
    IOptions<KubernetesDiscoveryOptions> options,
    ILogger<DiscoveryPrewarmService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var services = new List<ServiceKey>();
        foreach (var entry in options.Value.PrewarmServices)
        {
            if (KubernetesDiscoveryOptionsValidator.TryParseServiceEntry(entry, resolver.DefaultNamespace, out var service))
            {
                services.Add(service);
            }
            else
            {
                DiscoveryLog.PrewarmSkipped(logger, entry, "not 'name' or 'name.namespace'");
            }
        }

        foreach (var service in services)
        {
            try
            {
                resolver.Prewarm([service]);
            }
            catch (DiscoveryException e)
            {
                DiscoveryLog.PrewarmSkipped(logger, service.ToString(), e.Message);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
