using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Grpc.Tests;

/// <summary>
/// gRPC through Discovery.Http's handler: a stock <see cref="GrpcChannel"/> over an <c>IHttpClientFactory</c> client on
/// <c>http://_grpc.bandicoot</c>, h2c from the port's appProtocol, every call balanced by the handler.
/// </summary>
public sealed class HandlerTests
{
    private const string Address = "http://_grpc.bandicoot";

    private static Task<GrpcCluster> StartAsync(Action<IServiceCollection>? configure = null) => GrpcCluster.StartAsync(services =>
    {
        services.AddKubernetesDiscovery();
        services.AddHttpClient("grpc").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin);
        configure?.Invoke(services);
    });

    private static GrpcChannel Channel(GrpcCluster cluster) => GrpcChannel.ForAddress(Address, new GrpcChannelOptions
    {
        HttpClient = cluster.Provider.GetRequiredService<IHttpClientFactory>().CreateClient("grpc"),
    });

    [Fact]
    public async Task Every_call_is_balanced_across_the_pods_over_one_channel()
    {
        await using var cluster = await StartAsync();
        var pods = await cluster.StartServiceAsync("bandicoot", 3);
        using var channel = Channel(cluster);

        var spread = await Calls.SpreadAsync(new Pods.PodsClient(channel), 30);

        // Round-robin per call, not per connection: every pod answers ten of thirty.
        Assert.All(pods, pod => Assert.Equal(10, spread.GetValueOrDefault(pod.Name)));
    }

    [Fact]
    public async Task AddGrpcClient_on_a_service_host_is_balanced_by_the_handler_not_pinned()
    {
        await using var cluster = await StartAsync(services => services
            .AddGrpcClient<Pods.PodsClient>(o => o.Address = new Uri(Address))
            .AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
        var pods = await cluster.StartServiceAsync("bandicoot", 3);
        var client = cluster.Provider.GetRequiredService<Pods.PodsClient>();

        var spread = await Calls.SpreadAsync(client, 30);

        Assert.All(pods, pod => Assert.Equal(10, spread.GetValueOrDefault(pod.Name)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_unavailable_status_from_a_pod_ejects_it(bool inTrailers)
    {
        await using var cluster = await StartAsync();
        var pods = await cluster.StartServiceAsync("bandicoot", 3);
        pods[0].FailEveryCallWith = StatusCode.Unavailable;
        pods[0].FailAfterHeaders = inTrailers;
        using var channel = Channel(cluster);
        var client = new Pods.PodsClient(channel);

        // Five consecutive failures eject (the default): round-robin gives the pod every third call.
        for (var i = 0; i < 30; i++)
        {
            try
            {
                await client.WhoAsync(new WhoRequest(), cancellationToken: TestContext.Current.CancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
            }
        }

        var before = pods[0].Calls;
        var after = await Calls.SpreadAsync(client, 30);

        Assert.Equal(before, pods[0].Calls);
        Assert.Equal(2, after.Count);
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.Unknown)]
    [InlineData(StatusCode.DeadlineExceeded)]
    public async Task A_status_that_is_the_calls_own_never_ejects_the_pod(StatusCode status)
    {
        await using var cluster = await StartAsync();
        var pods = await cluster.StartServiceAsync("bandicoot", 3);
        using var channel = Channel(cluster);
        var client = new Pods.PodsClient(channel);

        for (var i = 0; i < 30; i++)
        {
            await Assert.ThrowsAsync<RpcException>(async () => await client.WhoAsync(new WhoRequest { FailWith = (int)status, HeadersFirst = i % 2 == 0 }, cancellationToken: TestContext.Current.CancellationToken));
        }

        var spread = await Calls.SpreadAsync(client, 30);

        Assert.All(pods, pod => Assert.Equal(10, spread.GetValueOrDefault(pod.Name)));
    }

    [Fact]
    public async Task A_server_stream_is_not_cut_when_its_pod_leaves_the_set()
    {
        await using var cluster = await StartAsync();
        var pods = await cluster.StartServiceAsync("bandicoot", 2);
        using var channel = Channel(cluster);
        var client = new Pods.PodsClient(channel);
        using var call = client.Stream(new StreamRequest { Count = 20, IntervalMs = 20 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        var serving = pods.Single(p => p.Name == call.ResponseStream.Current.Pod);

        cluster.SetReady(serving, false);
        await cluster.WaitForSnapshotAsync("bandicoot", s => s.ReadyCount == 1);
        var meanwhile = await Calls.SpreadAsync(client, 6);

        var received = 1;
        while (await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken))
        {
            Assert.Equal(serving.Name, call.ResponseStream.Current.Pod);
            received++;
        }

        Assert.Equal(20, received);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.False(meanwhile.ContainsKey(serving.Name));
    }

    [Fact]
    public async Task AddGrpcClient_on_a_kubernetes_address_uses_grpcs_balancer_beside_the_handler()
    {
        // AddKubernetesDiscovery() serves every client, and switches grpc-dotnet's balancing off on them; a kubernetes: client
        // needs it, and gets it back.
        await using var cluster = await StartAsync(services => services
            .AddGrpcClient<Pods.PodsClient>(o => o.Address = new Uri("kubernetes:///bandicoot"))
            .ConfigureChannel(o =>
            {
                o.Credentials = ChannelCredentials.Insecure;
                o.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
            }));
        var pods = await cluster.StartServiceAsync("bandicoot", 3);
        var client = cluster.Provider.GetRequiredService<Pods.PodsClient>();

        Assert.True(await Calls.ReachAllAsync(client, [.. pods.Select(p => p.Name)]));
    }
}
