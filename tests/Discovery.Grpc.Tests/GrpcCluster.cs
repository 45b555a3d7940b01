using Discovery.Testing;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Grpc.Tests;

/// <summary>
/// The whole stack on the shared loopback cluster: the discovery core watching the emulator, the <c>kubernetes:</c>
/// resolver and the HTTP handler registered, and real Grpc.AspNetCore servers as pods (one EndpointSlice each).
/// </summary>
public sealed class GrpcCluster : LoopbackCluster
{
    public const string ServiceNamespace = "demo";
    public const int ServicePort = 50051;

    private GrpcCluster(Started started)
        : base(started, ServiceNamespace)
    {
    }

    public static async Task<GrpcCluster> StartAsync(Action<IServiceCollection>? configure = null, Action<KubernetesDiscoveryOptions>? discovery = null)
        => new(await StartEmulatorAsync(services =>
        {
            services.AddKubernetesEndpointResolver(options =>
            {
                options.Namespace = ServiceNamespace;

                // Outside a cluster the automatic mode would pick node ports; the servers here are the pods.
                options.AddressMode = AddressMode.PodIP;
                // Real time: a first sync (two lists through the stock client, JIT-compiled on first use) can take seconds on
                // a loaded machine, and one that overran 5 s turned a test's typed error into KubernetesApiUnavailableException.
                options.InitialSyncTimeout = TimeSpan.FromSeconds(30);
                options.ReconnectMaxDelay = TimeSpan.FromSeconds(1);
                discovery?.Invoke(options);
            });
            services.AddKubernetesGrpcResolver(o => o.MaxRetryDelay = TimeSpan.FromSeconds(1));
            configure?.Invoke(services);
        }));

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
        => ApplyService(service, @namespace: null, EmulatorObjects.ServicePort(ServicePort, "grpc", appProtocol: "kubernetes.io/h2c"));

    public async Task<GrpcPod> AddPodAsync(string service, string name, bool ready = true)
    {
        var pod = await GrpcPod.StartAsync(this, name);
        ApplySlice(service, pod, ready);
        return pod;
    }

    public void ApplySlice(string service, GrpcPod pod, bool ready = true)
        => ApplySlice(service, SliceName(pod), EndpointOf(pod.Pod, ready: ready), pod.Port, "grpc", appProtocol: "kubernetes.io/h2c");

    public void SetReady(GrpcPod pod, bool ready) => Emulator.SetEndpointConditions(Namespace, SliceName(pod), pod.Address, ready);

    public void RemovePod(GrpcPod pod) => Emulator.Delete<V1EndpointSlice>(Namespace, SliceName(pod));

    /// <summary>A stock channel on a <c>kubernetes:</c> address, with the given balancer (round_robin unless told).</summary>
    public GrpcChannel Channel(string address, bool roundRobin = true) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        Credentials = ChannelCredentials.Insecure,
        ServiceProvider = Provider,
        ServiceConfig = new ServiceConfig
        {
            LoadBalancingConfigs = { roundRobin ? new RoundRobinConfig() : new PickFirstConfig() },
        },
    });

    public static string SliceName(GrpcPod pod) => $"slice-{pod.Name}";
}
