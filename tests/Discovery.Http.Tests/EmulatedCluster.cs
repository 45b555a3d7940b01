using Discovery.Testing;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Http.Tests;

/// <summary>
/// The whole stack for end-to-end tests: the Kubernetes API emulator, the real discovery core watching it, and
/// <c>AddKubernetesDiscovery()</c> clients, with real Kestrel backends as pods (one EndpointSlice each, as each listens on its own port).
/// </summary>
public sealed class EmulatedCluster : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly IKubernetes _client;

    private EmulatedCluster(KubernetesApiEmulator emulator, IKubernetes client, ServiceProvider provider)
    {
        Emulator = emulator;
        _client = client;
        _provider = provider;
    }

    public KubernetesApiEmulator Emulator { get; }

    public IServiceProvider Provider => _provider;

    public IServiceEndpointResolver Resolver => _provider.GetRequiredService<IServiceEndpointResolver>();

    public static async Task<EmulatedCluster> StartAsync(Action<IServiceCollection>? configure = null, Action<KubernetesDiscoveryOptions>? discovery = null)
    {
        var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), TestContext.Current.CancellationToken);
        var client = emulator.CreateClient();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(client);
        services.AddKubernetesDiscovery(options =>
        {
            options.Namespace = "default";

            // Outside a cluster the automatic mode would pick node ports; the backends here are the pods.
            options.AddressMode = AddressMode.PodIP;
            // Generous: a first list on a loaded machine can take seconds; tests of the timeout itself set their own.
            options.InitialSyncTimeout = TimeSpan.FromSeconds(30);
            discovery?.Invoke(options);
        });
        configure?.Invoke(services);
        return new EmulatedCluster(emulator, client, services.BuildServiceProvider());
    }

    public HttpClient Client(string name = "") => _provider.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    public static string SliceName(string service, Backend backend) => $"{service}-{backend.Name}";

    /// <summary>Applies a Service with one port named <c>http</c> and one EndpointSlice per backend.</summary>
    public void ApplyService(string name, IEnumerable<Backend> backends, string @namespace = "default", Func<Backend, string?>? zone = null)
    {
        Emulator.Apply(EmulatorObjects.Service(@namespace, name, EmulatorObjects.ServicePort(80, "http")));
        foreach (var backend in backends)
        {
            ApplySlice(name, backend, @namespace, zone?.Invoke(backend));
        }
    }

    public void ApplySlice(string service, Backend backend, string @namespace = "default", string? zone = null)
    {
        var endpoint = EmulatorObjects.Endpoint(backend.Address, zone: zone);
        endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = backend.Name, NamespaceProperty = @namespace };
        Emulator.Apply(EmulatorObjects.EndpointSlice(@namespace, service, SliceName(service, backend), "IPv4", [endpoint], EmulatorObjects.SlicePort(backend.Port, "http")));
    }

    /// <summary>Waits, bounded, until the resolver's snapshot of a Service satisfies <paramref name="condition"/>.</summary>
    public async Task<ServiceEndpointSnapshot> WaitForSnapshotAsync(string service, Func<ServiceEndpointSnapshot, bool> condition, string @namespace = "default")
    {
        var key = new ServiceKey(@namespace, service);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(10));
        await foreach (var snapshot in Resolver.WatchAsync(key, deadline.Token))
        {
            if (condition(snapshot))
            {
                return snapshot;
            }
        }

        throw new TimeoutException($"The snapshot of {key} never satisfied the condition.");
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        _client.Dispose();
        await Emulator.DisposeAsync();
    }
}
