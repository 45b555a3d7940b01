using BenchmarkDotNet.Attributes;
using Discovery.Testing;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ServiceDiscovery;

namespace Discovery.Benchmarks;

/// <summary>
/// Issue #12: one MESD resolution by the Kubernetes provider (from the watched snapshot, three ready pods) against MESD's own
/// configuration provider (three configured endpoints): create the provider for the query, populate a builder, build the
/// source (with a builder like MESD's). This is what MESD runs when a watcher starts and on every change; its request path reads the cached source.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
public class MesdProviderBenchmarks
{
    private KubernetesApiEmulator _emulator = null!;
    private Kubernetes _client = null!;
    private ServiceProvider _kubernetesApp = null!;
    private ServiceProvider _configurationApp = null!;
    private IServiceEndpointProviderFactory _kubernetesFactory = null!;
    private IServiceEndpointProviderFactory _configurationFactory = null!;
    private ServiceEndpointQuery _query = null!;

    [GlobalSetup]
    public void Setup()
    {
        _emulator = KubernetesApiEmulator.StartAsync().GetAwaiter().GetResult();
        _client = (Kubernetes)_emulator.CreateClient();
        _emulator.ApplyServiceWithEndpoints("default", "alpaca-prod", 8080, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], withEndpoints: false);

        var kubernetes = new ServiceCollection();
        kubernetes.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        kubernetes.AddSingleton<IKubernetes>(_client);
        kubernetes.AddKubernetesEndpointResolver(o =>
        {
            o.Namespace = "default";
            o.AddressMode = AddressMode.PodIP;
            o.IdleTimeout = TimeSpan.FromHours(1);
        });
        kubernetes.AddServiceDiscoveryCore();
        kubernetes.AddKubernetesServiceEndpointProvider();
        _kubernetesApp = kubernetes.BuildServiceProvider();
        _kubernetesFactory = _kubernetesApp.GetServices<IServiceEndpointProviderFactory>().Single();

        var configuration = new ServiceCollection();
        configuration.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Services:alpaca-prod:http:0"] = "http://10.0.0.1:8080",
            ["Services:alpaca-prod:http:1"] = "http://10.0.0.2:8080",
            ["Services:alpaca-prod:http:2"] = "http://10.0.0.3:8080",
        }).Build());
        configuration.AddServiceDiscoveryCore();
        configuration.AddConfigurationServiceEndpointProvider();
        _configurationApp = configuration.BuildServiceProvider();
        _configurationFactory = _configurationApp.GetServices<IServiceEndpointProviderFactory>().Single();

        if (!ServiceEndpointQuery.TryParse("http://alpaca-prod", out var query))
        {
            throw new InvalidOperationException("query");
        }

        _query = query;
        if (ResolveKubernetes().Endpoints.Count != 3 || ResolveConfiguration().Endpoints.Count != 3)
        {
            throw new InvalidOperationException("Both providers must resolve three endpoints.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kubernetesApp.Dispose();
        _configurationApp.Dispose();
        _client.Dispose();
        _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "MESD configuration provider")]
    public ServiceEndpointSource ResolveConfiguration() => Resolve(_configurationFactory);

    [Benchmark(Description = "Kubernetes provider (watched snapshot)")]
    public ServiceEndpointSource ResolveKubernetes() => Resolve(_kubernetesFactory);

    private ServiceEndpointSource Resolve(IServiceEndpointProviderFactory factory)
    {
        if (!factory.TryCreateProvider(_query, out var provider))
        {
            throw new InvalidOperationException("no provider");
        }

        var builder = new Builder();
        var pending = provider.PopulateAsync(builder, default);
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }

        return new ServiceEndpointSource([.. builder.Endpoints], builder.Token!, builder.Features);
    }

    /// <summary>MESD's own builder is internal; this one does what it does for a single change token.</summary>
    private sealed class Builder : IServiceEndpointBuilder
    {
        public IList<Microsoft.Extensions.ServiceDiscovery.ServiceEndpoint> Endpoints { get; } = new List<Microsoft.Extensions.ServiceDiscovery.ServiceEndpoint>();

        public Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public Microsoft.Extensions.Primitives.IChangeToken? Token { get; private set; }

        public void AddChangeToken(Microsoft.Extensions.Primitives.IChangeToken changeToken) => Token = changeToken;
    }
}
