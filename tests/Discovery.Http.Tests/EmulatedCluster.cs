using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

/// <summary>
/// The whole stack for end-to-end tests on the shared loopback cluster: the real discovery core watching the emulator,
/// and <c>AddKubernetesDiscovery()</c> clients, with real Kestrel backends as pods (one EndpointSlice each, as each
/// listens on its own port).
/// </summary>
public sealed class EmulatedCluster : LoopbackCluster
{
    private EmulatedCluster(Started started)
        : base(started)
    {
    }

    public static async Task<EmulatedCluster> StartAsync(Action<IServiceCollection>? configure = null, Action<KubernetesDiscoveryOptions>? discovery = null)
        => new(await StartEmulatorAsync(services =>
        {
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
        }));

    public HttpClient Client(string name = "") => Provider.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    /// <summary>Applies a Service with one port named <c>http</c> and one EndpointSlice per backend.</summary>
    public void ApplyService(string name, IEnumerable<Backend> backends, string @namespace = "default", Func<Backend, string?>? zone = null)
    {
        ApplyService(name, @namespace, EmulatorObjects.ServicePort(80, "http"));
        foreach (var backend in backends)
        {
            ApplySlice(name, backend, @namespace, zone?.Invoke(backend));
        }
    }

    public void ApplySlice(string service, Backend backend, string @namespace = "default", string? zone = null)
        => ApplyPodSlice(service, backend, zone: zone, @namespace: @namespace);
}
