using Discovery.Testing;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Grpc.Tests;

/// <summary>
/// The whole stack: the Kubernetes API emulator reached through the stock KubernetesClient, the discovery core watching it, the
/// <c>kubernetes:</c> resolver and the HTTP handler registered, and real Grpc.AspNetCore servers as pods (one EndpointSlice each).
/// </summary>
public sealed class GrpcCluster : IAsyncDisposable
{
    public const string Namespace = "demo";
    public const int ServicePort = 50051;

    private readonly ServiceProvider _provider;
    private readonly IKubernetes _client;
    private readonly List<GrpcPod> _pods = [];

    private GrpcCluster(KubernetesApiEmulator emulator, IKubernetes client, ServiceProvider provider)
    {
        Emulator = emulator;
        _client = client;
        _provider = provider;
    }

    public KubernetesApiEmulator Emulator { get; }

    public IServiceProvider Provider => _provider;

    public IServiceEndpointResolver Resolver => _provider.GetRequiredService<IServiceEndpointResolver>();

    public static async Task<GrpcCluster> StartAsync(Action<IServiceCollection>? configure = null, Action<KubernetesDiscoveryOptions>? discovery = null)
    {
        var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), TestContext.Current.CancellationToken);
        var client = emulator.CreateClient();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(client);
        services.AddKubernetesEndpointResolver(options =>
        {
            options.Namespace = Namespace;

            // Outside a cluster the automatic mode would pick node ports; the servers here are the pods.
            options.AddressMode = AddressMode.PodIP;
            options.InitialSyncTimeout = TimeSpan.FromSeconds(5);
            options.ReconnectMaxDelay = TimeSpan.FromSeconds(1);
            discovery?.Invoke(options);
        });
        services.AddKubernetesGrpcResolver(o => o.MaxRetryDelay = TimeSpan.FromSeconds(1));
        configure?.Invoke(services);
        return new GrpcCluster(emulator, client, services.BuildServiceProvider());
    }

    /// <summary>Starts <paramref name="count"/> pods and publishes them as the ready endpoints of <paramref name="service"/>.</summary>
    public async Task<GrpcPod[]> StartServiceAsync(string service, int count)
    {
        ApplyService(service);
        var pods = new GrpcPod[count];
        for (var i = 0; i < count; i++)
        {
            pods[i] = await AddPodAsync(service, $"{service}-{i}");
        }

        return pods;
    }

    /// <summary>A Service with one port, <c>grpc</c> 50051, whose appProtocol says h2c; its pods listen on their own ports.</summary>
    public void ApplyService(string service)
        => Emulator.Apply(EmulatorObjects.Service(Namespace, service, EmulatorObjects.ServicePort(ServicePort, "grpc", appProtocol: "kubernetes.io/h2c")));

    public async Task<GrpcPod> AddPodAsync(string service, string name, bool ready = true)
    {
        var pod = await GrpcPod.StartAsync(name);
        _pods.Add(pod);
        ApplySlice(service, pod, ready);
        return pod;
    }

    public void ApplySlice(string service, GrpcPod pod, bool ready = true)
    {
        var endpoint = EmulatorObjects.Endpoint(pod.Address, ready: ready);
        endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod.Name, NamespaceProperty = Namespace };
        Emulator.Apply(EmulatorObjects.EndpointSlice(Namespace, service, SliceName(pod), "IPv4", [endpoint], EmulatorObjects.SlicePort(pod.Port, "grpc", appProtocol: "kubernetes.io/h2c")));
    }

    public void SetReady(GrpcPod pod, bool ready) => Emulator.SetEndpointConditions(Namespace, SliceName(pod), pod.Address, ready);

    public void RemovePod(GrpcPod pod) => Emulator.Delete<V1EndpointSlice>(Namespace, SliceName(pod));

    /// <summary>Waits, bounded, until the resolver's snapshot of a Service satisfies <paramref name="condition"/>.</summary>
    public async Task<ServiceEndpointSnapshot> WaitForSnapshotAsync(string service, Func<ServiceEndpointSnapshot, bool> condition)
    {
        var key = new ServiceKey(Namespace, service);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        await foreach (var snapshot in Resolver.WatchAsync(key, deadline.Token))
        {
            if (condition(snapshot))
            {
                return snapshot;
            }
        }

        throw new TimeoutException($"The snapshot of {key} never satisfied the condition.");
    }

    /// <summary>A stock channel on a <c>kubernetes:</c> address, with the given balancer (round_robin unless told).</summary>
    public GrpcChannel Channel(string address, bool roundRobin = true) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        Credentials = ChannelCredentials.Insecure,
        ServiceProvider = _provider,
        ServiceConfig = new ServiceConfig
        {
            LoadBalancingConfigs = { roundRobin ? new RoundRobinConfig() : new PickFirstConfig() },
        },
    });

    public static string SliceName(GrpcPod pod) => $"slice-{pod.Name}";

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        _client.Dispose();
        foreach (var pod in _pods)
        {
            await pod.DisposeAsync();
        }

        await Emulator.DisposeAsync();
    }
}
