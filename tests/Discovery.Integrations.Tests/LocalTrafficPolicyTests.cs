using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;

namespace Discovery.Integrations.Tests;

/// <summary>
/// <c>internalTrafficPolicy: Local</c> and topology hints through MESD's resolver and handler and through a real YARP gateway:
/// the adapters hand out only what kube-proxy on this node would use (the core's <see cref="KubeProxyTopology"/>), and a
/// node-local Service with nothing on this node (or an unknown node) is the typed outcome, never traffic to other nodes.
/// </summary>
public class LocalTrafficPolicyTests
{
    private const string ThisNode = "node-a";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static void ApplyLocalService(Cluster cluster, string name)
    {
        var service = EmulatorObjects.Service("default", name, EmulatorObjects.ServicePort(80, "http"));
        service.Spec.InternalTrafficPolicy = "Local";
        cluster.Emulator.Apply(service);
    }

    /// <summary>The pod's own slice of <paramref name="service"/>, its endpoint on <paramref name="node"/> in <paramref name="zone"/>, with zone hints if given.</summary>
    private static void ApplyPod(Cluster cluster, string service, Pod pod, string node, string? zone = null, string[]? forZones = null)
    {
        var endpoint = cluster.EndpointOf(pod, zone: zone, nodeName: node);
        if (forZones is not null)
        {
            endpoint.Hints = new V1EndpointHints { ForZones = [.. forZones.Select(z => new V1ForZone { Name = z })] };
        }

        cluster.ApplySlice(service, Cluster.SliceName(service, pod), endpoint, pod.Port);
    }

    private static void SetNode(IServiceCollection services, string? node)
        => services.Configure<KubernetesDiscoveryOptions>(o => o.NodeName = node);

    private static ServiceProvider BuildMesdApp(Cluster cluster, string? node)
    {
        var services = new ServiceCollection();
        cluster.AddCore(services);
        SetNode(services, node);
        services.AddServiceDiscovery(options => options.RefreshPeriod = TimeSpan.FromHours(1));
        services.AddKubernetesServiceEndpointProvider();
        services.AddHttpClient("daemon", client => client.BaseAddress = new Uri("http://daemon")).AddServiceDiscovery();
        return services.BuildServiceProvider();
    }

    private static async Task<string[]> ResolveAsync(ServiceProvider app, string name)
    {
        var source = await app.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync(name, Token);
        return [.. source.Endpoints.Select(e => e.EndPoint.ToString()!).Order(StringComparer.Ordinal)];
    }

    private static string[] Uris(params Pod[] pods) => [.. pods.Select(p => $"http://{p.Address}:{p.Port}/").Order(StringComparer.Ordinal)];

    private static Task<YarpProxy> StartProxyAsync(Cluster cluster, string? node, string address = "http://daemon")
        => YarpProxy.StartAsync(
            cluster,
            new Dictionary<string, DestinationConfig> { ["daemon"] = new() { Address = address } },
            o => o.MinimumReloadInterval = TimeSpan.Zero,
            services =>
            {
                services.AddFakeLogging();
                SetNode(services, node);
            });

    private static string[] DestinationIds(YarpProxy proxy, params Pod[] pods) => [.. pods.Select(p => $"daemon/{p.Authority}").Order(StringComparer.Ordinal)];

    private static List<FakeLogRecord> NoDestinationWarnings(YarpProxy proxy)
        => [.. proxy.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Level == LogLevel.Warning && r.Message.Contains("has no destinations", StringComparison.Ordinal))];

    [Fact]
    public async Task MESD_resolves_a_node_local_Service_to_this_nodes_pods_only_and_its_handler_sends_nowhere_else()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("daemon-a");
        var b = await cluster.StartPodAsync("daemon-b");
        var c = await cluster.StartPodAsync("daemon-c");
        ApplyLocalService(cluster, "daemon");
        ApplyPod(cluster, "daemon", a, ThisNode);
        ApplyPod(cluster, "daemon", b, "node-b");
        ApplyPod(cluster, "daemon", c, ThisNode);
        await using var app = BuildMesdApp(cluster, ThisNode);

        Assert.Equal(Uris(a, c), await ResolveAsync(app, "http://daemon"));

        var client = app.GetRequiredService<IHttpClientFactory>().CreateClient("daemon");
        for (var i = 0; i < 8; i++)
        {
            await client.GetStringAsync("/", Token);
        }

        Assert.Equal(0, b.Requests);
        Assert.Equal(8, a.Requests + c.Requests);
    }

    [Fact]
    public async Task MESD_without_a_pod_on_this_node_fails_with_the_typed_error_naming_the_node_not_a_fallback()
    {
        await using var cluster = await Cluster.StartAsync();
        var b = await cluster.StartPodAsync("daemon-b");
        ApplyLocalService(cluster, "daemon");
        ApplyPod(cluster, "daemon", b, "node-b");
        await using var app = BuildMesdApp(cluster, ThisNode);

        var error = await Assert.ThrowsAsync<NoReadyEndpointsException>(() => ResolveAsync(app, "http://daemon"));

        Assert.Equal(ThisNode, error.NodeName);
        Assert.Equal(new ServiceKey("default", "daemon"), error.Service);
        Assert.Contains("internalTrafficPolicy: Local", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 on other nodes", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NoReadyEndpointsException>(() => app.GetRequiredService<IHttpClientFactory>().CreateClient("daemon").GetStringAsync("/", Token));
        Assert.Equal(0, b.Requests);
    }

    [Fact]
    public async Task MESD_with_an_unknown_node_fails_saying_how_to_set_it()
    {
        Assert.Null(Environment.GetEnvironmentVariable(KubernetesDiscoveryOptions.NodeNameEnvironmentVariable));
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("daemon-a");
        ApplyLocalService(cluster, "daemon");
        ApplyPod(cluster, "daemon", a, ThisNode);
        await using var app = BuildMesdApp(cluster, node: null);

        var error = await Assert.ThrowsAsync<NodeNameUnknownException>(() => ResolveAsync(app, "http://daemon"));

        Assert.Contains("NODE_NAME", error.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery:NodeName", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, a.Requests);
    }

    [Fact]
    public async Task YARP_routes_a_node_local_Service_only_to_this_nodes_pods()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("daemon-a");
        var b = await cluster.StartPodAsync("daemon-b");
        var c = await cluster.StartPodAsync("daemon-c");
        ApplyLocalService(cluster, "daemon");
        ApplyPod(cluster, "daemon", a, ThisNode);
        ApplyPod(cluster, "daemon", b, "node-b");
        ApplyPod(cluster, "daemon", c, ThisNode);
        await using var proxy = await StartProxyAsync(cluster, ThisNode);

        Assert.Equal(DestinationIds(proxy, a, c), proxy.Destinations().Keys.Order(StringComparer.Ordinal));
        for (var i = 0; i < 8; i++)
        {
            (await proxy.Client.GetAsync("/", Token)).EnsureSuccessStatusCode().Dispose();
        }

        Assert.Equal(0, b.Requests);
        Assert.Equal(4, a.Requests);
        Assert.Equal(4, c.Requests);
    }

    [Fact]
    public async Task YARP_without_a_pod_on_this_node_has_no_destinations_and_warns_naming_node_and_Service_until_one_arrives()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("daemon-a");
        var b = await cluster.StartPodAsync("daemon-b");
        ApplyLocalService(cluster, "daemon");
        ApplyPod(cluster, "daemon", b, "node-b");
        await using var proxy = await StartProxyAsync(cluster, ThisNode);

        Assert.Empty(proxy.Destinations());
        using (var refused = await proxy.Client.GetAsync("/", Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        var warning = Assert.Single(NoDestinationWarnings(proxy).DistinctBy(r => r.Message));
        Assert.Contains("'daemon' in namespace 'default'", warning.Message, StringComparison.Ordinal);
        Assert.Contains($"this node '{ThisNode}'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("internalTrafficPolicy: Local", warning.Message, StringComparison.Ordinal);
        Assert.Equal(0, b.Requests);

        // A pod on this node: the change token fires and YARP routes to it, still not to the other node's.
        ApplyPod(cluster, "daemon", a, ThisNode);
        await Eventually.True(() => proxy.AvailableIds().SequenceEqual(DestinationIds(proxy, a)), "YARP reloads with this node's pod");
        (await proxy.Client.GetAsync("/", Token)).EnsureSuccessStatusCode().Dispose();
        Assert.Equal(1, a.Requests);
        Assert.Equal(0, b.Requests);
    }

    [Fact]
    public async Task YARP_with_an_unknown_node_has_no_destinations_and_warns_how_to_set_it()
    {
        Assert.Null(Environment.GetEnvironmentVariable(KubernetesDiscoveryOptions.NodeNameEnvironmentVariable));
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("daemon-a");
        ApplyLocalService(cluster, "daemon");
        ApplyPod(cluster, "daemon", a, ThisNode);
        await using var proxy = await StartProxyAsync(cluster, node: null);

        Assert.Empty(proxy.Destinations());
        var warning = Assert.Single(NoDestinationWarnings(proxy).DistinctBy(r => r.Message));
        Assert.Contains("NODE_NAME", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery:NodeName", warning.Message, StringComparison.Ordinal);
        Assert.Contains("'daemon' in namespace 'default'", warning.Message, StringComparison.Ordinal);
        Assert.Equal(0, a.Requests);
    }

    [Fact]
    public async Task YARP_keeps_a_Service_with_zone_hints_in_this_nodes_zone_read_from_the_node_label()
    {
        await using var cluster = await Cluster.StartAsync();
        cluster.Emulator.Apply(new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta { Name = ThisNode, Labels = new Dictionary<string, string> { [LocalNode.ZoneLabel] = "zone-a" } },
        });
        var a = await cluster.StartPodAsync("svc-a");
        var b = await cluster.StartPodAsync("svc-b");
        var c = await cluster.StartPodAsync("svc-c");
        cluster.ApplyService("zoned");
        ApplyPod(cluster, "zoned", a, "node-x", zone: "zone-a", forZones: ["zone-a"]);
        ApplyPod(cluster, "zoned", b, "node-y", zone: "zone-b", forZones: ["zone-b"]);
        await using var proxy = await StartProxyAsync(cluster, ThisNode, "http://zoned");

        Assert.Equal(["daemon/" + a.Authority], proxy.Destinations().Keys);

        // The EndpointSlice controller hints a zone-b pod for zone-a (balancing the zones): it joins this zone's set.
        ApplyPod(cluster, "zoned", c, "node-y", zone: "zone-b", forZones: ["zone-a"]);
        await Eventually.True(() => proxy.AvailableIds().SequenceEqual(DestinationIds(proxy, a, c)), "YARP reloads with the pod hinted for zone-a");
        for (var i = 0; i < 6; i++)
        {
            (await proxy.Client.GetAsync("/", Token)).EnsureSuccessStatusCode().Dispose();
        }

        Assert.Equal(0, b.Requests);
        Assert.Equal(6, a.Requests + c.Requests);
    }
}
