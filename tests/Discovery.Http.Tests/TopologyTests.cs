using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using static Discovery.Http.Tests.KubeProxyCluster;

namespace Discovery.Http.Tests;

/// <summary>
/// EndpointSlice hints and <c>trafficDistribution</c>, with the application's zone read from its node's label, through the
/// emulator, the real core and the stock client, with Kestrel pods. No zone is configured for the HTTP client.
/// </summary>
public sealed class TopologyTests
{
    private static async Task<EmulatedCluster> StartAsync(string node = "node-a", string? nodeZone = "zone-a", Action<EmulatedCluster>? before = null, string? configuredZone = null, bool fakeLogging = false)
    {
        var cluster = await EmulatedCluster.StartAsync(
            s =>
            {
                if (fakeLogging)
                {
                    s.AddFakeLogging();
                }

                s.AddHttpClient("c").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin);
            },
            o =>
            {
                o.NodeName = node;
                o.Zone = configuredZone;
            });
        cluster.ApplyNode("node-a", nodeZone);
        before?.Invoke(cluster);
        return cluster;
    }

    private static async Task<string?> ZoneAsync(EmulatedCluster cluster)
        => await ((KubernetesServiceEndpointResolver)cluster.Resolver).LocalNode.GetZoneAsync(TestContext.Current.CancellationToken);

    [Fact]
    public async Task The_zone_comes_from_the_nodes_label_and_zone_hints_keep_traffic_in_it()
    {
        var b = await StartBackendsAsync(4);
        await using var cluster = await StartAsync();
        Assert.Equal("zone-a", await ZoneAsync(cluster));
        cluster.ApplyService("svc", _ => { });
        cluster.ApplyPod("svc", b[0], zone: "zone-a", forZones: ["zone-a"]);
        cluster.ApplyPod("svc", b[1], zone: "zone-b", forZones: ["zone-b"]);
        cluster.ApplyPod("svc", b[2], zone: "zone-b", forZones: ["zone-a"]);
        cluster.ApplyPod("svc", b[3], zone: "zone-c", forZones: ["zone-c"]);
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 4);

        await SendAsync(cluster.Client("c"), "svc", 20);

        Assert.Equal([10, 0, 10, 0], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Hints_are_ignored_when_an_endpoint_lacks_them_or_none_is_for_this_zone_as_kube_proxy_does()
    {
        var b = await StartBackendsAsync(3);
        await using var cluster = await StartAsync();
        Assert.Equal("zone-a", await ZoneAsync(cluster));
        cluster.ApplyService("partial", _ => { });
        cluster.ApplyPod("partial", b[0], zone: "zone-a", forZones: ["zone-a"]);
        cluster.ApplyPod("partial", b[1], zone: "zone-b");
        cluster.ApplyService("elsewhere", _ => { });
        cluster.ApplyPod("elsewhere", b[2], zone: "zone-b", forZones: ["zone-b"]);
        await cluster.WaitForSnapshotAsync("partial", s => s.ReadyCount == 2);

        await SendAsync(cluster.Client("c"), "partial", 4);
        await SendAsync(cluster.Client("c"), "elsewhere", 2);

        Assert.Equal([2, 2, 2], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Node_hints_keep_traffic_on_this_node_before_zone_hints()
    {
        var b = await StartBackendsAsync(3);
        await using var cluster = await StartAsync();
        Assert.Equal("zone-a", await ZoneAsync(cluster));
        cluster.ApplyService("svc", s => s.TrafficDistribution = "PreferClose");
        cluster.ApplyPod("svc", b[0], node: "node-a", zone: "zone-a", forZones: ["zone-a"], forNodes: ["node-a"]);
        cluster.ApplyPod("svc", b[1], node: "node-b", zone: "zone-a", forZones: ["zone-a"], forNodes: ["node-b"]);
        cluster.ApplyPod("svc", b[2], node: "node-c", zone: "zone-b", forZones: ["zone-b"], forNodes: ["node-c"]);
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 3);

        await SendAsync(cluster.Client("c"), "svc", 6);

        Assert.Equal([6, 0, 0], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Traffic_distribution_PreferClose_without_hints_prefers_endpoints_in_this_zone()
    {
        var b = await StartBackendsAsync(4);
        await using var cluster = await StartAsync();
        Assert.Equal("zone-a", await ZoneAsync(cluster));
        cluster.ApplyService("svc", s => s.TrafficDistribution = "PreferClose");
        cluster.ApplyPod("svc", b[0], zone: "zone-b");
        cluster.ApplyPod("svc", b[1], zone: "zone-a");
        cluster.ApplyPod("svc", b[2], zone: "zone-c");
        cluster.ApplyPod("svc", b[3], zone: "zone-a");
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 4);

        await SendAsync(cluster.Client("c"), "svc", 10);

        Assert.Equal([0, 5, 0, 5], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Without_trafficDistribution_or_hints_every_zone_is_used_even_when_the_zone_is_known()
    {
        var b = await StartBackendsAsync(2);
        await using var cluster = await StartAsync();
        Assert.Equal("zone-a", await ZoneAsync(cluster));
        cluster.ApplyService("svc", _ => { });
        cluster.ApplyPod("svc", b[0], zone: "zone-a");
        cluster.ApplyPod("svc", b[1], zone: "zone-b");
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 2);

        await SendAsync(cluster.Client("c"), "svc", 4);

        Assert.Equal([2, 2], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task When_no_endpoint_of_this_zone_is_usable_the_rest_receive_the_traffic()
    {
        var b = await StartBackendsAsync(2);
        var dead = Ports.Refusing();
        await using var cluster = await StartAsync();
        Assert.Equal("zone-a", await ZoneAsync(cluster));
        cluster.ApplyService("svc", s => s.TrafficDistribution = "PreferClose");
        cluster.Emulator.Apply(Discovery.Testing.EmulatorObjects.EndpointSlice(
            "default", "svc", "svc-dead", "IPv4", [Discovery.Testing.EmulatorObjects.Endpoint(dead.Address, zone: "zone-a")], Discovery.Testing.EmulatorObjects.SlicePort(dead.Port, "http")));
        cluster.ApplyPod("svc", b[0], zone: "zone-b");
        cluster.ApplyPod("svc", b[1], zone: "zone-c");
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 3);

        // The only same-zone endpoint refuses: each request is retried in another zone and the endpoint is ejected.
        await SendAsync(cluster.Client("c"), "svc", 10);

        Assert.Equal(10, b.Sum(x => x.Requests));
        Assert.All(b, x => Assert.InRange(x.Requests, 4, 6));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task A_refused_node_read_is_logged_once_and_zone_preference_stays_off()
    {
        var b = await StartBackendsAsync(2);
        await using var cluster = await StartAsync(before: c => c.Emulator.Access.Deny(null, "nodes", "get"), fakeLogging: true);
        Assert.Null(await ZoneAsync(cluster));
        cluster.ApplyService("svc", s => s.TrafficDistribution = "PreferClose");
        cluster.ApplyPod("svc", b[0], zone: "zone-a");
        cluster.ApplyPod("svc", b[1], zone: "zone-b");
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 2);

        await SendAsync(cluster.Client("c"), "svc", 4);
        Assert.Null(await ZoneAsync(cluster));

        Assert.Equal([2, 2], b.Select(x => x.Requests));
        var refusals = cluster.Provider.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Name == "NodeForbidden").ToList();
        var refusal = Assert.Single(refusals);
        Assert.Contains("403", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("docs/rbac.md", refusal.Message, StringComparison.Ordinal);
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task A_configured_zone_overrides_the_nodes_label()
    {
        var b = await StartBackendsAsync(2);
        await using var cluster = await StartAsync(configuredZone: "zone-b");
        Assert.Equal("zone-b", await ZoneAsync(cluster));
        cluster.ApplyService("svc", s => s.TrafficDistribution = "PreferClose");
        cluster.ApplyPod("svc", b[0], zone: "zone-a");
        cluster.ApplyPod("svc", b[1], zone: "zone-b");
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 2);

        await SendAsync(cluster.Client("c"), "svc", 4);

        Assert.Equal([0, 4], b.Select(x => x.Requests));
        Assert.DoesNotContain(cluster.Emulator.Requests, r => r.Path.Contains("/nodes", StringComparison.Ordinal));
        await DisposeAllAsync(b);
    }
}
