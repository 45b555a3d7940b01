using Microsoft.Extensions.DependencyInjection;
using static Discovery.Http.Tests.KubeProxyCluster;

namespace Discovery.Http.Tests;

/// <summary><c>internalTrafficPolicy: Local</c> through the emulator, the real core and the stock client, with Kestrel pods.</summary>
public sealed class TrafficPolicyTests
{
    private static Task<EmulatedCluster> StartAsync(string? nodeName)
        => EmulatedCluster.StartAsync(
            s => s.AddHttpClient("c").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin),
            o => o.NodeName = nodeName);

    [Fact]
    public async Task Internal_traffic_policy_Local_sends_only_to_endpoints_on_this_node()
    {
        var b = await StartBackendsAsync(4);
        await using var cluster = await StartAsync("node-a");
        cluster.ApplyService("daemon", s => s.InternalTrafficPolicy = "Local");
        cluster.ApplyPod("daemon", b[0], node: "node-a");
        cluster.ApplyPod("daemon", b[1], node: "node-b");
        cluster.ApplyPod("daemon", b[2], node: "node-a");
        cluster.ApplyPod("daemon", b[3], node: "node-c");
        await cluster.WaitForSnapshotAsync("daemon", s => s.ReadyCount == 4);

        await SendAsync(cluster.Client("c"), "daemon", 20);

        Assert.Equal([10, 0, 10, 0], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Internal_traffic_policy_Local_without_an_endpoint_on_this_node_fails_with_a_typed_error_and_sends_nowhere()
    {
        var b = await StartBackendsAsync(2);
        await using var cluster = await StartAsync("node-a");
        cluster.ApplyService("daemon", s => s.InternalTrafficPolicy = "Local");
        cluster.ApplyPod("daemon", b[0], node: "node-b");
        cluster.ApplyPod("daemon", b[1], node: "node-c");
        await cluster.WaitForSnapshotAsync("daemon", s => s.ReadyCount == 2);

        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client("c").GetAsync("http://daemon/", TestContext.Current.CancellationToken));

        Assert.Equal(DiscoveryFailureReason.NoReadyEndpoints, error.Reason);
        var inner = Assert.IsType<NoReadyEndpointsException>(error.InnerException);
        Assert.Equal("node-a", inner.NodeName);
        Assert.Contains("internalTrafficPolicy: Local", error.Message, StringComparison.Ordinal);
        Assert.Contains("node-a", error.Message, StringComparison.Ordinal);
        Assert.All(b, x => Assert.Equal(0, x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Internal_traffic_policy_Local_without_a_node_name_fails_saying_how_to_set_it()
    {
        var b = await StartBackendsAsync(1);
        var saved = Environment.GetEnvironmentVariable(KubernetesDiscoveryOptions.NodeNameEnvironmentVariable);
        Assert.Null(saved);
        await using var cluster = await StartAsync(null);
        cluster.ApplyService("daemon", s => s.InternalTrafficPolicy = "Local");
        cluster.ApplyPod("daemon", b[0], node: "node-a");
        await cluster.WaitForSnapshotAsync("daemon", s => s.ReadyCount == 1);

        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client("c").GetAsync("http://daemon/", TestContext.Current.CancellationToken));

        Assert.Equal(DiscoveryFailureReason.NodeNameUnknown, error.Reason);
        Assert.IsType<NodeNameUnknownException>(error.InnerException);
        Assert.Contains("NODE_NAME", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.nodeName", error.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery:NodeName", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, b[0].Requests);
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Internal_traffic_policy_Local_falls_back_to_this_nodes_serving_terminating_endpoint_not_to_other_nodes()
    {
        var b = await StartBackendsAsync(2);
        await using var cluster = await StartAsync("node-a");
        cluster.ApplyService("daemon", s => s.InternalTrafficPolicy = "Local");
        cluster.ApplyPod("daemon", b[0], node: "node-a", ready: false, terminating: true);
        cluster.ApplyPod("daemon", b[1], node: "node-b");
        await cluster.WaitForSnapshotAsync("daemon", s => s.Endpoints.Length == 2);

        await SendAsync(cluster.Client("c"), "daemon", 4);

        Assert.Equal([4, 0], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Switching_the_Service_back_to_Cluster_uses_every_node_again()
    {
        var b = await StartBackendsAsync(2);
        await using var cluster = await StartAsync("node-a");
        cluster.ApplyService("daemon", s => s.InternalTrafficPolicy = "Local");
        cluster.ApplyPod("daemon", b[0], node: "node-a");
        cluster.ApplyPod("daemon", b[1], node: "node-b");
        await cluster.WaitForSnapshotAsync("daemon", s => s.ReadyCount == 2);
        await SendAsync(cluster.Client("c"), "daemon", 2);

        cluster.ApplyService("daemon", s => s.InternalTrafficPolicy = "Cluster");
        await cluster.WaitForSnapshotAsync("daemon", s => s.ServiceInfo?.InternalTrafficPolicy == TrafficPolicy.Cluster);
        await SendAsync(cluster.Client("c"), "daemon", 4);

        Assert.Equal([4, 2], b.Select(x => x.Requests));
        await DisposeAllAsync(b);
    }
}
