using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Discovery.Integrations.Tests;

/// <summary>
/// The shared loopback cluster with no services of its own: each test builds the app of the consumer it tests (MESD,
/// YARP) and registers the discovery core over the emulator's client with <see cref="AddCore"/>.
/// </summary>
public sealed class Cluster : LoopbackCluster
{
    private Cluster(Started started)
        : base(started)
    {
    }

    public static async Task<Cluster> StartAsync() => new(await StartEmulatorAsync(register: null));

    /// <summary>Registers what every consumer needs: logging, configuration, the emulator's client and the discovery core.</summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configuration">The app's configuration; none is registered when <paramref name="hosted"/> (the host has its own).</param>
    /// <param name="hosted">Whether a web host owns logging and configuration.</param>
    public void AddCore(IServiceCollection services, IConfiguration? configuration = null, bool hosted = false)
    {
        if (!hosted)
        {
            services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
            services.AddSingleton(configuration ?? new ConfigurationBuilder().Build());
        }

        services.AddSingleton(Kubernetes);
        services.AddKubernetesEndpointResolver(options =>
        {
            options.Namespace = "default";
            options.AddressMode = AddressMode.PodIP;
            // Real time: a first sync (two lists through the stock client) can take seconds on a loaded machine, and one that
            // overran turns a test's typed error (ServiceNotFound, NoReadyEndpoints) into KubernetesApiUnavailableException.
            options.InitialSyncTimeout = TimeSpan.FromSeconds(30);
        });
    }

    /// <summary>A Service with the given ports (default one named <c>http</c>) and one slice per pod on that port name.</summary>
    public void ApplyService(string name, IEnumerable<Pod> pods, params V1ServicePort[] ports)
    {
        ApplyService(name, @namespace: null, ports);
        foreach (var pod in pods)
        {
            ApplyPod(name, pod);
        }
    }

    public void ApplyPod(string service, Pod pod, string portName = "http", bool ready = true) => ApplyPodSlice(service, pod, portName, ready);
}
