using Discovery.Testing;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.TestSupport;

/// <summary>
/// A cluster for tests: the Kubernetes API emulator reached through the stock KubernetesClient, real Kestrel pods on
/// loopback, and (when a test project registers its consumer) a service provider with the discovery core over that client.
/// Each pod gets an EndpointSlice of its own, as each listens on its own port. Test projects derive their cluster from it
/// and add what their consumer needs (HTTP clients, gRPC channels, a hosted app).
/// </summary>
public abstract class LoopbackCluster : IAsyncDisposable
{
    private readonly ServiceProvider? _provider;
    private readonly List<LoopbackPod> _pods = [];

    protected LoopbackCluster(Started started, string @namespace = "default")
    {
        ArgumentNullException.ThrowIfNull(started);
        Emulator = started.Emulator;
        Kubernetes = started.Kubernetes;
        _provider = started.Provider;
        Namespace = @namespace;
    }

    public KubernetesApiEmulator Emulator { get; }

    /// <summary>The stock client on the emulator (the one registered in <see cref="Provider"/>).</summary>
    public IKubernetes Kubernetes { get; }

    /// <summary>The namespace the cluster's Services, slices and snapshots default to.</summary>
    public string Namespace { get; }

    /// <summary>The services built at start; a cluster started without a registration has none.</summary>
    public IServiceProvider Provider => _provider ?? throw new InvalidOperationException("This cluster was started without services; its consumers host their own.");

    public IServiceEndpointResolver Resolver => Provider.GetRequiredService<IServiceEndpointResolver>();

    /// <summary>The name of the slice that holds <paramref name="pod"/> for <paramref name="service"/>.</summary>
    public static string SliceName(string service, LoopbackPod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return $"{service}-{pod.Name}";
    }

    /// <summary>Starts a pod owned by the cluster (disposed with it).</summary>
    public async Task<LoopbackPod> StartPodAsync(string name, LoopbackPodOptions? options = null)
    {
        var pod = await LoopbackPod.StartAsync(name, options ?? new LoopbackPodOptions());
        lock (_pods)
        {
            _pods.Add(pod);
        }

        return pod;
    }

    /// <summary>Starts a pod owned by the cluster speaking <paramref name="protocols"/> (<see cref="HttpProtocols.Http2"/> alone: an h2c-only server).</summary>
    public Task<LoopbackPod> StartPodAsync(string name, HttpProtocols protocols) => StartPodAsync(name, new LoopbackPodOptions { Protocols = protocols });

    /// <summary>Applies a Service with the given ports; one port <c>http</c> 80 when none.</summary>
    public void ApplyService(string name, string? @namespace = null, params V1ServicePort[] ports)
        => Emulator.Apply(EmulatorObjects.Service(@namespace ?? Namespace, name, ports.Length > 0 ? ports : [EmulatorObjects.ServicePort(80, "http")]));

    /// <summary>An endpoint for <paramref name="pod"/> whose targetRef names it, with the given conditions.</summary>
    public V1Endpoint EndpointOf(LoopbackPod pod, bool? ready = true, bool? serving = null, bool? terminating = null, string? zone = null, string? nodeName = null, string? @namespace = null)
        => EndpointOf(pod?.Name!, pod?.Address!, ready, serving, terminating, zone, nodeName, @namespace);

    /// <summary>An endpoint for the pod <paramref name="podName"/> at <paramref name="address"/>, with the given conditions.</summary>
    public V1Endpoint EndpointOf(string podName, string address, bool? ready = true, bool? serving = null, bool? terminating = null, string? zone = null, string? nodeName = null, string? @namespace = null)
    {
        var endpoint = EmulatorObjects.Endpoint(address, ready: ready, serving: serving, terminating: terminating, zone: zone, nodeName: nodeName);
        endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = podName, NamespaceProperty = @namespace ?? Namespace };
        return endpoint;
    }

    /// <summary>Applies the IPv4 slice <paramref name="sliceName"/> of <paramref name="service"/> with one endpoint and one port.</summary>
    public void ApplySlice(string service, string sliceName, V1Endpoint endpoint, int port, string portName = "http", string? appProtocol = null, string? @namespace = null)
        => Emulator.Apply(EmulatorObjects.EndpointSlice(@namespace ?? Namespace, service, sliceName, "IPv4", [endpoint], EmulatorObjects.SlicePort(port, portName, appProtocol: appProtocol)));

    /// <summary>Applies <paramref name="pod"/>'s own slice of <paramref name="service"/> (named by <see cref="SliceName"/>).</summary>
    public void ApplyPodSlice(string service, LoopbackPod pod, string portName = "http", bool ready = true, string? zone = null, string? @namespace = null)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ApplySlice(service, SliceName(service, pod), EndpointOf(pod, ready: ready, zone: zone, @namespace: @namespace), pod.Port, portName, @namespace: @namespace);
    }

    /// <summary>Sets the conditions of <paramref name="pod"/> in its slice of <paramref name="service"/>.</summary>
    public void SetReady(string service, LoopbackPod pod, bool ready)
        => Emulator.SetEndpointConditions(Namespace, SliceName(service, pod), pod.Address, ready);

    /// <summary>Waits, bounded (<see cref="Eventually.DefaultBound"/> unless told), until the resolver's snapshot of a Service satisfies <paramref name="condition"/>.</summary>
    public async Task<ServiceEndpointSnapshot> WaitForSnapshotAsync(string service, Func<ServiceEndpointSnapshot, bool> condition, string? @namespace = null, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var key = new ServiceKey(@namespace ?? Namespace, service);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(bound ?? Eventually.DefaultBound);
        await foreach (var snapshot in Resolver.WatchAsync(key, deadline.Token))
        {
            if (condition(snapshot))
            {
                return snapshot;
            }
        }

        throw new TimeoutException($"The snapshot of {key} never satisfied the condition.");
    }

    /// <summary>Disposes the services, the pods the cluster started, the client and the emulator, in that order.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }

        LoopbackPod[] pods;
        lock (_pods)
        {
            pods = [.. _pods];
        }

        foreach (var pod in pods)
        {
            await pod.DisposeAsync();
        }

        Kubernetes.Dispose();
        await Emulator.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Starts the emulator and its stock client; with <paramref name="register"/>, builds services holding debug logging,
    /// an empty configuration, that client, and whatever <paramref name="register"/> adds (the consumer under test).
    /// </summary>
    protected static async Task<Started> StartEmulatorAsync(Action<IServiceCollection>? register, KubernetesApiEmulatorOptions? options = null)
    {
        var emulator = await KubernetesApiEmulator.StartAsync(options ?? new KubernetesApiEmulatorOptions(), TestContext.Current.CancellationToken);
        var client = emulator.CreateClient();
        if (register is null)
        {
            return new Started(emulator, client, null);
        }

        var services = new ServiceCollection();
        AddClient(services, client);
        register(services);
        return new Started(emulator, client, services.BuildServiceProvider());
    }

    /// <summary>Registers debug logging, an empty configuration and <paramref name="client"/> (for an app that is not hosted).</summary>
    protected static void AddClient(IServiceCollection services, IKubernetes client)
    {
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(client);
    }

    /// <summary>What <see cref="StartEmulatorAsync"/> started, handed to the derived cluster's constructor.</summary>
    protected sealed record Started(KubernetesApiEmulator Emulator, IKubernetes Kubernetes, ServiceProvider? Provider);
}
