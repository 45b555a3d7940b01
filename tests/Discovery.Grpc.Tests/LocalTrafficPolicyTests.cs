using Discovery.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Discovery.Grpc.Tests;

/// <summary>
/// <c>internalTrafficPolicy: Local</c> is applied by the HttpClient handler only: a <c>kubernetes:</c> channel balances over every
/// usable endpoint and names the Service once in a warning, so a node-local Service is not misrouted silently.
/// </summary>
public sealed class LocalTrafficPolicyTests
{
    [Fact]
    public async Task A_kubernetes_channel_to_a_node_local_Service_balances_over_all_its_pods_and_says_so_once()
    {
        await using var cluster = await GrpcCluster.StartAsync(services => services.AddFakeLogging());
        var service = EmulatorObjects.Service(GrpcCluster.Namespace, "local", EmulatorObjects.ServicePort(GrpcCluster.ServicePort, "grpc", appProtocol: "kubernetes.io/h2c"));
        service.Spec.InternalTrafficPolicy = "Local";
        cluster.Emulator.Apply(service);
        var a = await cluster.AddPodAsync("local", "local-a");
        var b = await cluster.AddPodAsync("local", "local-b");
        using var channel = cluster.Channel("kubernetes:///local.demo:grpc");
        var client = new Pods.PodsClient(channel);
        Assert.True(await Calls.ReachAllAsync(client, [a.Name, b.Name]), "the channel never reached both pods");

        // A change republishes: still one warning for the channel.
        var c = await cluster.AddPodAsync("local", "local-c");
        Assert.True(await Calls.ReachAllAsync(client, [c.Name]), "the channel never reached the new pod");

        var warnings = cluster.Provider.GetFakeLogCollector().GetSnapshot().Where(r => r.Message.Contains("internalTrafficPolicy: Local", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("demo/local", warning.Message, StringComparison.Ordinal);
    }
}
