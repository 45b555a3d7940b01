using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Discovery.Integrations.Tests;

/// <summary>
/// The Kubernetes API emulator reached through the stock KubernetesClient, real Kestrel pods, and a service provider with
/// whatever consumer a test registers (MESD, YARP). Each pod gets its own EndpointSlice, as each listens on its own port.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly List<Pod> _pods = [];
    private readonly IKubernetes _client;

    private Cluster(KubernetesApiEmulator emulator, IKubernetes client)
    {
        Emulator = emulator;
        _client = client;
    }

    public KubernetesApiEmulator Emulator { get; }

    public static async Task<Cluster> StartAsync()
    {
        var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), TestContext.Current.CancellationToken);
        return new Cluster(emulator, emulator.CreateClient());
    }

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

        services.AddSingleton(_client);
        services.AddKubernetesEndpointResolver(options =>
        {
            options.Namespace = "default";
            options.AddressMode = AddressMode.PodIP;
            options.InitialSyncTimeout = TimeSpan.FromSeconds(10);
        });
    }

    public async Task<Pod> StartPodAsync(string name, Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2)
    {
        var pod = await Pod.StartAsync(name, protocols);
        lock (_pods)
        {
            _pods.Add(pod);
        }

        return pod;
    }

    /// <summary>A Service with the given ports (default one named <c>http</c>) and one slice per pod on that port name.</summary>
    public void ApplyService(string name, IEnumerable<Pod> pods, params V1ServicePort[] ports)
    {
        Emulator.Apply(EmulatorObjects.Service("default", name, ports.Length > 0 ? ports : [EmulatorObjects.ServicePort(80, "http")]));
        foreach (var pod in pods)
        {
            ApplyPod(name, pod);
        }
    }

    public void ApplyPod(string service, Pod pod, string portName = "http", bool ready = true)
    {
        var endpoint = EmulatorObjects.Endpoint(pod.Address, ready: ready);
        endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod.Name, NamespaceProperty = "default" };
        Emulator.Apply(EmulatorObjects.EndpointSlice("default", service, SliceName(service, pod), "IPv4", [endpoint], EmulatorObjects.SlicePort(pod.Port, portName)));
    }

    public void SetReady(string service, Pod pod, bool ready) => Emulator.SetEndpointConditions("default", SliceName(service, pod), pod.Address, ready);

    public static string SliceName(string service, Pod pod) => $"{service}-{pod.Name}";

    public async ValueTask DisposeAsync()
    {
        foreach (var pod in _pods)
        {
            await pod.DisposeAsync();
        }

        _client.Dispose();
        await Emulator.DisposeAsync();
    }
}
