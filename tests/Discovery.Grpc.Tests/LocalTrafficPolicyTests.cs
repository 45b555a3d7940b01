using Discovery.Testing;
using k8s.Models;

namespace Discovery.Grpc.Tests;

/// <summary>
/// <c>internalTrafficPolicy: Local</c> and <c>trafficDistribution</c> through a stock <see cref="GrpcChannel"/> on a
/// <c>kubernetes:</c> address: the resolver publishes only what kube-proxy on this node would use (the core's
/// <see cref="KubeProxyTopology"/>), and a node-local Service with nothing on this node (or an unknown node) is a resolver
/// error naming the cause, never calls to other nodes.
/// </summary>
public sealed class LocalTrafficPolicyTests
{
    private const string ThisNode = "node-a";

    private static Task<GrpcCluster> StartAsync(string? node, string? zone = null)
        => GrpcCluster.StartAsync(discovery: o =>
        {
            o.NodeName = node;
            o.Zone = zone;
        });

    private static void ApplyService(GrpcCluster cluster, string name, Action<V1ServiceSpec> spec)
    {
        var service = EmulatorObjects.Service(GrpcCluster.ServiceNamespace, name, EmulatorObjects.ServicePort(GrpcCluster.ServicePort, "grpc", appProtocol: "kubernetes.io/h2c"));
        spec(service.Spec);
        cluster.Emulator.Apply(service);
    }

    /// <summary>A pod of <paramref name="service"/> whose endpoint is on <paramref name="node"/> in <paramref name="zone"/>.</summary>
    private static async Task<GrpcPod> AddPodAsync(GrpcCluster cluster, string service, string name, string node, string? zone = null)
    {
        var pod = await GrpcPod.StartAsync(cluster, name);
        var endpoint = cluster.EndpointOf(pod.Pod, zone: zone, nodeName: node);
        cluster.ApplySlice(service, GrpcCluster.SliceName(pod), endpoint, pod.Port, "grpc", appProtocol: "kubernetes.io/h2c");
        return pod;
    }

    private static Task<WhoReply> CallAsync(Pods.PodsClient client)
        => client.WhoAsync(new WhoRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    [Fact]
    public async Task A_kubernetes_channel_to_a_node_local_Service_calls_only_this_nodes_pods()
    {
        await using var cluster = await StartAsync(ThisNode);
        ApplyService(cluster, "local", s => s.InternalTrafficPolicy = "Local");
        var a = await AddPodAsync(cluster, "local", "local-a", ThisNode);
        var b = await AddPodAsync(cluster, "local", "local-b", "node-b");
        var c = await AddPodAsync(cluster, "local", "local-c", ThisNode);
        await cluster.WaitForSnapshotAsync("local", s => s.ReadyCount == 3);
        using var channel = cluster.Channel("kubernetes:///local.demo:grpc");
        var client = new Pods.PodsClient(channel);

        // round_robin spreads over every address once connected: reaching both, then more calls, would reach b were it published.
        Assert.True(await Calls.ReachAllAsync(client, a.Name, c.Name), "the channel never reached both of this node's pods");
        var spread = await Calls.SpreadAsync(client, 10);

        Assert.Equal([a.Name, c.Name], spread.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task Without_a_pod_on_this_node_calls_fail_with_the_typed_error_naming_the_node_until_one_arrives()
    {
        await using var cluster = await StartAsync(ThisNode);
        ApplyService(cluster, "local", s => s.InternalTrafficPolicy = "Local");
        var b = await AddPodAsync(cluster, "local", "local-b", "node-b");
        await cluster.WaitForSnapshotAsync("local", s => s.ReadyCount == 1);
        using var channel = cluster.Channel("kubernetes:///local.demo:grpc");
        var client = new Pods.PodsClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => CallAsync(client));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        var typed = Assert.IsType<NoReadyEndpointsException>(error.Status.DebugException);
        Assert.Equal(ThisNode, typed.NodeName);
        Assert.Contains("internalTrafficPolicy: Local", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"this node '{ThisNode}'", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, b.Calls);

        // A pod on this node is published as it arrives; the other node's pod stays out.
        var a = await AddPodAsync(cluster, "local", "local-a", ThisNode);
        Assert.True(await Eventually.UntilAsync(async () =>
        {
            try
            {
                return (await CallAsync(client)).Pod == a.Name;
            }
            catch (RpcException)
            {
                return false;
            }
        }), "the channel never reached this node's pod");
        Assert.Equal([a.Name], (await Calls.SpreadAsync(client, 6)).Keys);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task When_this_nodes_last_pod_leaves_calls_fail_with_the_typed_error_and_never_reach_the_other_node()
    {
        await using var cluster = await StartAsync(ThisNode);
        ApplyService(cluster, "local", s => s.InternalTrafficPolicy = "Local");
        var a = await AddPodAsync(cluster, "local", "local-a", ThisNode);
        var b = await AddPodAsync(cluster, "local", "local-b", "node-b");
        await cluster.WaitForSnapshotAsync("local", s => s.ReadyCount == 2);
        using var channel = cluster.Channel("kubernetes:///local.demo:grpc");
        var client = new Pods.PodsClient(channel);
        Assert.True(await Calls.ReachAllAsync(client, a.Name), "the channel never reached this node's pod");

        // The pod goes away: grpc-dotnet keeps a READY subchannel through a resolver failure, until its connection fails; then
        // the channel asks again and takes the failure, which names the node. Other nodes' pods are never published.
        cluster.RemovePod(a);
        await a.Pod.StopAsync(TimeSpan.FromSeconds(5));
        RpcException? last = null;
        Assert.True(await Eventually.UntilAsync(async () =>
        {
            try
            {
                await CallAsync(client);
                return false;
            }
            catch (RpcException e)
            {
                last = e;
                return e.Status.DebugException is NoReadyEndpointsException;
            }
        }), $"calls never failed with the typed error (last: {last?.Status})");
        Assert.Equal(ThisNode, ((NoReadyEndpointsException)last!.Status.DebugException!).NodeName);
        Assert.Equal(0, b.Calls);
    }

    [Fact]
    public async Task With_an_unknown_node_calls_fail_saying_how_to_set_it()
    {
        Assert.Null(Environment.GetEnvironmentVariable(KubernetesDiscoveryOptions.NodeNameEnvironmentVariable));
        await using var cluster = await StartAsync(node: null);
        ApplyService(cluster, "local", s => s.InternalTrafficPolicy = "Local");
        var a = await AddPodAsync(cluster, "local", "local-a", ThisNode);
        await cluster.WaitForSnapshotAsync("local", s => s.ReadyCount == 1);
        using var channel = cluster.Channel("kubernetes:///local.demo:grpc");

        var error = await Assert.ThrowsAsync<RpcException>(() => CallAsync(new Pods.PodsClient(channel)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.IsType<NodeNameUnknownException>(error.Status.DebugException);
        Assert.Contains("NODE_NAME", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Discovery:NodeName", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, a.Calls);
    }

    [Fact]
    public async Task TrafficDistribution_PreferClose_without_hints_keeps_calls_in_this_zone()
    {
        await using var cluster = await StartAsync(ThisNode, zone: "zone-a");
        ApplyService(cluster, "close", s => s.TrafficDistribution = "PreferClose");
        var a = await AddPodAsync(cluster, "close", "close-a", "node-x", zone: "zone-a");
        var b = await AddPodAsync(cluster, "close", "close-b", "node-y", zone: "zone-b");
        var c = await AddPodAsync(cluster, "close", "close-c", "node-z", zone: "zone-a");
        await cluster.WaitForSnapshotAsync("close", s => s.ReadyCount == 3);
        using var channel = cluster.Channel("kubernetes:///close.demo:grpc");

        var client = new Pods.PodsClient(channel);
        Assert.True(await Calls.ReachAllAsync(client, a.Name, c.Name), "the channel never reached both pods of this zone");
        var spread = await Calls.SpreadAsync(client, 10);

        Assert.Equal([a.Name, c.Name], spread.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, b.Calls);
    }
}
