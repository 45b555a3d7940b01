using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.ServiceDiscovery;
using MesdEndpoint = Microsoft.Extensions.ServiceDiscovery.ServiceEndpoint;

namespace Discovery.Integrations.Tests;

/// <summary>
/// The MESD provider through MESD's own consumers: <see cref="ServiceEndpointResolver"/> and the HttpClient handler of
/// <c>AddServiceDiscovery()</c>, against the emulator and real Kestrel pods.
/// </summary>
public class MesdProviderTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>An app as Aspire's service defaults build it, plus the Kubernetes provider. MESD's refresh is set to an hour: only a push can make a change visible within a test.</summary>
    private static ServiceProvider BuildApp(Cluster cluster, Action<IServiceCollection>? configure = null, IConfiguration? configuration = null)
    {
        var services = new ServiceCollection();
        cluster.AddCore(services, configuration);
        services.AddServiceDiscovery(options => options.RefreshPeriod = TimeSpan.FromHours(1));
        services.AddKubernetesServiceEndpointProvider();
        services.AddHttpClient("alpaca", client => client.BaseAddress = new Uri("http://alpaca-prod")).AddServiceDiscovery();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static async Task<string[]> ResolveAsync(ServiceProvider app, string name)
    {
        var source = await app.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync(name, Token);
        return [.. source.Endpoints.Select(e => e.EndPoint.ToString()!).Order(StringComparer.Ordinal)];
    }

    private static string[] Sorted(params string[] values) => [.. values.Order(StringComparer.Ordinal)];

    private static string Uri(Pod pod, string scheme = "http") => $"{scheme}://{pod.Address}:{pod.Port}/";

    [Fact]
    public async Task Resolves_a_Service_name_to_its_ready_pods_and_the_handler_sends_to_them_with_the_Service_name_as_Host()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        await using var app = BuildApp(cluster);

        Assert.Equal(Sorted(Uri(a), Uri(b)), await ResolveAsync(app, "http://alpaca-prod"));

        var client = app.GetRequiredService<IHttpClientFactory>().CreateClient("alpaca");
        var answers = new HashSet<string>();
        for (var i = 0; i < 8; i++)
        {
            answers.Add(await client.GetStringAsync("/", Token));
        }

        Assert.Equal(["alpaca-a", "alpaca-b"], answers.Order());
        Assert.Equal("alpaca-prod", a.LastHost);
    }

    [Fact]
    public async Task Follows_MESD_query_semantics_endpoint_name_is_the_port_name_and_schemes_are_port_name_fallbacks()
    {
        await using var cluster = await Cluster.StartAsync();
        var pod = await cluster.StartPodAsync("multi");
        cluster.Emulator.Apply(EmulatorObjects.Service("default", "multi", EmulatorObjects.ServicePort(80, "http"), EmulatorObjects.ServicePort(50051, "grpc"), EmulatorObjects.ServicePort(9090, "metrics")));
        var endpoint = EmulatorObjects.Endpoint(pod.Address);
        cluster.Emulator.Apply(EmulatorObjects.EndpointSlice("default", "multi", "multi-1", "IPv4", [endpoint],
            EmulatorObjects.SlicePort(8080, "http"), EmulatorObjects.SlicePort(50052, "grpc"), EmulatorObjects.SlicePort(9091, "metrics")));
        await using var app = BuildApp(cluster);

        Assert.Equal([$"http://{pod.Address}:8080/"], await ResolveAsync(app, "http://multi"));

        // No https port: https+http falls back to the port named http, and says so with the scheme.
        Assert.Equal([$"http://{pod.Address}:8080/"], await ResolveAsync(app, "https+http://multi"));
        Assert.Equal([$"http://{pod.Address}:50052/"], await ResolveAsync(app, "http://_grpc.multi"));
        Assert.Equal([$"http://{pod.Address}:9091/"], await ResolveAsync(app, "http://multi:9090"));
        Assert.Equal([$"http://{pod.Address}:8080/"], await ResolveAsync(app, "http://multi.default.svc.cluster.local"));

        var unknownPort = await Assert.ThrowsAsync<ServicePortNotFoundException>(() => ResolveAsync(app, "http://_admin.multi"));
        Assert.Contains("admin", unknownPort.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_readiness_flip_stops_new_calls_to_that_pod_and_a_new_pod_gets_calls_pushed_without_MESD_polling()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        await using var app = BuildApp(cluster);
        var client = app.GetRequiredService<IHttpClientFactory>().CreateClient("alpaca");
        Assert.Equal(2, (await ResolveAsync(app, "http://alpaca-prod")).Length);
        await client.GetStringAsync("/", Token);

        cluster.SetReady("alpaca-prod", b, ready: false);
        await Eventually.True(async () => (await ResolveAsync(app, "http://alpaca-prod")).SequenceEqual([Uri(a)]), "MESD sees pod b leave (RefreshPeriod is an hour: only the change token can do it)");
        await Eventually.True(async () => await client.GetStringAsync("/", Token) == "alpaca-a" && await client.GetStringAsync("/", Token) == "alpaca-a", "the client's resolver sees it too");
        var before = b.Requests;
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("alpaca-a", await client.GetStringAsync("/", Token));
        }

        Assert.Equal(before, b.Requests);

        var c = await cluster.StartPodAsync("alpaca-c");
        cluster.ApplyPod("alpaca-prod", c);
        await Eventually.True(async () => (await ResolveAsync(app, "http://alpaca-prod")).Contains(Uri(c)), "MESD sees the new pod");
        await Eventually.True(async () => await client.GetStringAsync("/", Token) == "alpaca-c", "the new pod gets calls");
    }

    [Fact]
    public async Task An_API_outage_keeps_the_last_set_and_calls_keep_working()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        await using var app = BuildApp(cluster);
        var client = app.GetRequiredService<IHttpClientFactory>().CreateClient("alpaca");
        await client.GetStringAsync("/", Token);

        await cluster.Emulator.Faults.StartOutageAsync(OutageMode.RefuseConnections);
        cluster.Emulator.Faults.DropWatches();
        var answers = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await client.GetStringAsync("/", Token));
        }

        Assert.Equal(["alpaca-a", "alpaca-b"], answers.Order());
        Assert.Equal(Sorted(Uri(a), Uri(b)), await ResolveAsync(app, "http://alpaca-prod"));
        await cluster.Emulator.Faults.EndOutageAsync();
    }

    [Fact]
    public async Task Typed_errors_surface_through_MESD_an_unknown_Service_is_not_sent_to_DNS_and_no_ready_pod_says_so()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        cluster.ApplyService("empty-prod", []);
        await using var app = BuildApp(cluster);

        var unknown = await Assert.ThrowsAsync<ServiceNotFoundException>(() => ResolveAsync(app, "http://nosuch-prod"));
        Assert.Equal("nosuch-prod", unknown.ServiceName);
        Assert.Equal("default", unknown.Namespace);

        var none = await Assert.ThrowsAsync<NoReadyEndpointsException>(() => ResolveAsync(app, "http://empty-prod"));
        Assert.Equal("empty-prod", none.ServiceName);

        await Assert.ThrowsAsync<ServiceNotFoundException>(() => app.GetRequiredService<IHttpClientFactory>().CreateClient("alpaca").GetStringAsync("http://nosuch-prod/", Token));

        // Hosts that are not Service names are left to MESD's own providers.
        Assert.Equal(["127.0.0.1:5000"], await ResolveAsync(app, "http://127.0.0.1:5000"));
    }

    [Fact]
    public async Task With_pass_through_configured_an_unknown_Service_goes_to_MESD_pass_through()
    {
        await using var cluster = await Cluster.StartAsync();
        await using var app = BuildApp(cluster, services => services.AddKubernetesServiceEndpointProvider(o => o.PassThroughUnknownServices = true));

        var source = await app.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync("http://nosuch-prod", Token);
        var endpoint = Assert.Single(source.Endpoints);
        Assert.IsType<DnsEndPoint>(endpoint.EndPoint);
    }

    [Fact]
    public async Task Configuration_endpoints_registered_first_win_over_Kubernetes()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var configured = await cluster.StartPodAsync("configured");
        cluster.ApplyService("alpaca-prod", [a]);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Services:alpaca-prod:http:0"] = $"http://{configured.Address}:{configured.Port}",
        }).Build();
        await using var app = BuildApp(cluster, configuration: configuration);

        Assert.Equal([$"http://{configured.Address}:{configured.Port}/"], await ResolveAsync(app, "http://alpaca-prod"));
        Assert.Equal("configured", await app.GetRequiredService<IHttpClientFactory>().CreateClient("alpaca").GetStringAsync("/", Token));
    }

    [Fact]
    public async Task Providers_are_cheap_and_disposing_them_never_stops_the_shared_watch()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        await using var app = BuildApp(cluster);
        var factory = app.GetServices<IServiceEndpointProviderFactory>().OfType<Discovery.ServiceDiscovery.KubernetesServiceEndpointProviderFactory>().Single();
        Assert.True(ServiceEndpointQuery.TryParse("http://alpaca-prod", out var query));

        for (var i = 0; i < 20; i++)
        {
            Assert.True(factory.TryCreateProvider(query, out var provider));
            var builder = new CollectingBuilder();
            await provider.PopulateAsync(builder, Token);
            Assert.Single(builder.Endpoints);
            Assert.True(builder.Token!.ActiveChangeCallbacks);
            await provider.DisposeAsync();
        }

        var resolver = (KubernetesServiceEndpointResolver)app.GetRequiredService<IServiceEndpointResolver>();
        var status = Assert.Single(resolver.GetWatcherStatuses());
        Assert.True(status.IsSynced);

        // One list for the life of all those providers: they share the watcher.
        Assert.Equal(1, cluster.Emulator.Requests.Count(r => r.Method == "GET" && r.Path.Contains("endpointslices", StringComparison.Ordinal) && !r.IsWatch));
    }

    [Fact]
    public async Task A_provider_in_use_keeps_the_watcher_from_idling_out_and_releases_it_when_disposed()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        cluster.AddCore(services);
        services.Configure<KubernetesDiscoveryOptions>(o => o.IdleTimeout = TimeSpan.FromMinutes(1));
        services.AddServiceDiscoveryCore();
        services.AddKubernetesServiceEndpointProvider();
        await using var app = services.BuildServiceProvider();
        var resolver = (KubernetesServiceEndpointResolver)app.GetRequiredService<IServiceEndpointResolver>();
        var factory = app.GetServices<IServiceEndpointProviderFactory>().Single();
        Assert.True(ServiceEndpointQuery.TryParse("http://alpaca-prod", out var query));
        Assert.True(factory.TryCreateProvider(query, out var provider));
        var builder = new CollectingBuilder();
        await provider.PopulateAsync(builder, Token);

        // MESD answers from its cache and never reaches the core: only the provider's hold keeps the watcher.
        for (var i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Single(resolver.GetWatcherStatuses());
        Assert.False(builder.Token!.HasChanged);

        await provider.DisposeAsync();
        await Eventually.True(() =>
        {
            time.Advance(TimeSpan.FromSeconds(30));
            return resolver.GetWatcherStatuses().Count == 0;
        }, "the released watcher idles out");
        Assert.True(builder.Token!.HasChanged);
    }

    private sealed class CollectingBuilder : IServiceEndpointBuilder
    {
        public IList<MesdEndpoint> Endpoints { get; } = [];

        public Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public Microsoft.Extensions.Primitives.IChangeToken? Token { get; private set; }

        public void AddChangeToken(Microsoft.Extensions.Primitives.IChangeToken changeToken) => Token = changeToken;
    }
}
