using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Grpc.Tests;

/// <summary>
/// What docs/integrations.md says of Microsoft.Extensions.ServiceDiscovery: its <c>AddServiceDiscovery()</c> switches grpc-dotnet's
/// balancing off (<c>__GrpcLoadBalancingDisabled</c>), so grpc-dotnet refuses a <c>kubernetes:</c> channel on such a client, and
/// Discovery.Grpc does not switch it back on behind MESD's back.
/// </summary>
public sealed class MesdInteractionTests
{
    [Fact]
    public async Task A_kubernetes_client_with_mesds_AddServiceDiscovery_is_refused_by_grpc_dotnet_with_its_message()
    {
        await using var cluster = await GrpcCluster.StartAsync(services => services
            .AddGrpcClient<Pods.PodsClient>(o => o.Address = new Uri("kubernetes:///mesd"))
            .ConfigureChannel(o => o.Credentials = ChannelCredentials.Insecure)
            .AddServiceDiscovery());
        await cluster.StartServiceAsync("mesd", 1);

        var error = Assert.Throws<InvalidOperationException>(() => cluster.Provider.GetRequiredService<Pods.PodsClient>());

        Assert.Contains("doesn't support client-side load balancing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_client_without_mesd_resolves()
    {
        await using var cluster = await GrpcCluster.StartAsync(services => services
            .AddGrpcClient<Pods.PodsClient>(o => o.Address = new Uri("kubernetes:///mesd"))
            .ConfigureChannel(o => o.Credentials = ChannelCredentials.Insecure));
        var pods = await cluster.StartServiceAsync("mesd", 1);

        var reply = await cluster.Provider.GetRequiredService<Pods.PodsClient>().WhoAsync(new WhoRequest(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(pods[0].Name, reply.Pod);
    }
}
