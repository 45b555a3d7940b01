using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Grpc.Tests;

/// <summary>The <c>kubernetes:</c> resolver under a stock <see cref="GrpcChannel"/>, against real gRPC servers and the emulated API.</summary>
public sealed class ResolverTests
{
    [Theory]
    [InlineData("kubernetes:///alpaca.demo:grpc", "alpaca.demo")]
    [InlineData("kubernetes:///alpaca:50051", "alpaca:50051")]
    [InlineData("kubernetes:///alpaca", "alpaca")]
    [InlineData("kubernetes://demo/alpaca:grpc", "alpaca.demo")]
    [InlineData("kubernetes:///_grpc.alpaca.demo.svc.cluster.local", "alpaca.demo.svc.cluster.local")]
    [InlineData("kubernetes://alpaca.demo:50051/", "alpaca.demo:50051")]
    public async Task Each_address_form_resolves_to_the_services_pods_with_the_service_name_as_authority(string address, string authority)
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var pods = await cluster.StartServiceAsync("alpaca", 2);
        using var channel = cluster.Channel(address);
        var client = new Pods.PodsClient(channel);

        var reply = await client.WhoAsync(new WhoRequest(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Contains(reply.Pod, pods.Select(p => p.Name));
        Assert.Equal(authority, reply.Authority);
    }

    [Fact]
    public async Task Round_robin_spreads_calls_over_every_ready_pod()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var pods = await cluster.StartServiceAsync("spread", 3);
        using var channel = cluster.Channel("kubernetes:///spread");
        var client = new Pods.PodsClient(channel);
        Assert.True(await Calls.ReachAllAsync(client, [.. pods.Select(p => p.Name)]), "round_robin never reached every pod");

        var spread = await Calls.SpreadAsync(client, 30);

        // Once every subchannel is ready round_robin takes them in turn: ten each.
        Assert.All(pods, pod => Assert.Equal(10, spread.GetValueOrDefault(pod.Name)));
    }

    [Fact]
    public async Task Pick_first_sends_every_call_to_one_pod()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        await cluster.StartServiceAsync("first", 3);
        using var channel = cluster.Channel("kubernetes:///first", roundRobin: false);

        var spread = await Calls.SpreadAsync(new Pods.PodsClient(channel), 20);

        Assert.Single(spread);
    }

    [Fact]
    public async Task A_pod_failing_its_readiness_probe_stops_receiving_new_calls()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var pods = await cluster.StartServiceAsync("flip", 3);
        using var channel = cluster.Channel("kubernetes:///flip");
        var client = new Pods.PodsClient(channel);
        Assert.True(await Calls.ReachAllAsync(client, [.. pods.Select(p => p.Name)]));

        cluster.SetReady(pods[0], false);
        await cluster.WaitForSnapshotAsync("flip", s => s.ReadyCount == 2);

        // The push reaches the channel asynchronously; once it has, the pod gets nothing more.
        Assert.True(await Eventually.UntilAsync(async () => !(await Calls.SpreadAsync(client, 6)).ContainsKey(pods[0].Name)));
        var after = await Calls.SpreadAsync(client, 30);
        Assert.False(after.ContainsKey(pods[0].Name));
        Assert.Equal(2, after.Count);
    }

    [Fact]
    public async Task A_new_pod_gets_calls()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        await cluster.StartServiceAsync("grow", 2);
        using var channel = cluster.Channel("kubernetes:///grow");
        var client = new Pods.PodsClient(channel);
        await Calls.SpreadAsync(client, 4);

        var added = await cluster.AddPodAsync("grow", "grow-new");

        Assert.True(await Calls.ReachAllAsync(client, added.Name), "the new pod never got a call");
    }

    [Fact]
    public async Task An_api_outage_keeps_the_last_set_for_existing_and_new_channels()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var pods = await cluster.StartServiceAsync("outage", 2);
        using var channel = cluster.Channel("kubernetes:///outage");
        Assert.True(await Calls.ReachAllAsync(new Pods.PodsClient(channel), [.. pods.Select(p => p.Name)]));

        await cluster.Emulator.Faults.StartOutageAsync(Discovery.Testing.OutageMode.RefuseConnections);
        try
        {
            var existing = await Calls.SpreadAsync(new Pods.PodsClient(channel), 10);

            // A channel created while the API is down resolves from the last set the core holds.
            using var fresh = cluster.Channel("kubernetes:///outage");
            var client = new Pods.PodsClient(fresh);
            Assert.True(await Calls.ReachAllAsync(client, [.. pods.Select(p => p.Name)]));
            Assert.Equal(10, existing.Values.Sum());
        }
        finally
        {
            await cluster.Emulator.Faults.EndOutageAsync();
        }
    }

    [Fact]
    public async Task No_ready_endpoint_fails_calls_with_the_typed_error_until_a_pod_is_ready()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        cluster.ApplyService("empty");
        var pod = await cluster.AddPodAsync("empty", "empty-0", ready: false);
        using var channel = cluster.Channel("kubernetes:///empty");
        var client = new Pods.PodsClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.WhoAsync(new WhoRequest(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        var typed = Assert.IsType<NoReadyEndpointsException>(error.Status.DebugException);
        Assert.Equal(new ServiceKey("demo", "empty"), typed.Service);
        Assert.Contains("has no ready endpoints", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("1 not ready", error.Status.Detail, StringComparison.Ordinal);

        cluster.SetReady(pod, true);
        Assert.True(await Eventually.UntilAsync(async () =>
        {
            try
            {
                return (await client.WhoAsync(new WhoRequest(), cancellationToken: TestContext.Current.CancellationToken)).Pod == pod.Name;
            }
            catch (RpcException)
            {
                return false;
            }
        }));
    }

    [Theory]
    [InlineData("kubernetes:///nope", typeof(ServiceNotFoundException), "was not found in namespace 'demo'")]
    [InlineData("kubernetes:///alpaca..demo", typeof(InvalidServiceNameException), "empty label")]
    [InlineData("kubernetes:///localhost:50051", typeof(InvalidServiceNameException), "not a Kubernetes Service name")]
    [InlineData("kubernetes:///alpaca:9999", typeof(ServicePortNotFoundException), "has no port 9999")]
    [InlineData("kubernetes:///alpaca.other:grpc", typeof(NamespaceNotAllowedException), "not in Discovery:AllowedNamespaces")]
    public async Task Discovery_errors_surface_typed_on_the_call(string address, Type expected, string message)
    {
        await using var cluster = await GrpcCluster.StartAsync(discovery: o => o.AllowedNamespaces.Add("demo"));
        await cluster.StartServiceAsync("alpaca", 1);
        using var channel = cluster.Channel(address);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await new Pods.PodsClient(channel).WhoAsync(new WhoRequest(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.IsType(expected, error.Status.DebugException);
        Assert.Contains(message, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_stream_on_a_pod_that_leaves_the_set_runs_to_its_end()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var pods = await cluster.StartServiceAsync("stream", 2);
        using var channel = cluster.Channel("kubernetes:///stream");
        var client = new Pods.PodsClient(channel);
        using var call = client.Stream(new StreamRequest { Count = 20, IntervalMs = 20 }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        var serving = pods.Single(p => p.Name == call.ResponseStream.Current.Pod);

        cluster.SetReady(serving, false);
        await cluster.WaitForSnapshotAsync("stream", s => s.ReadyCount == 1);
        Assert.True(await Eventually.UntilAsync(async () => !(await Calls.SpreadAsync(client, 4)).ContainsKey(serving.Name)));

        var received = 1;
        while (await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken))
        {
            Assert.Equal(serving.Name, call.ResponseStream.Current.Pod);
            received++;
        }

        Assert.Equal(20, received);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task AddGrpcClient_resolves_kubernetes_addresses_through_the_registered_factory()
    {
        await using var cluster = await GrpcCluster.StartAsync(services => services
            .AddGrpcClient<Pods.PodsClient>(o => o.Address = new Uri("kubernetes:///factory.demo:grpc"))
            .ConfigureChannel(o =>
            {
                o.Credentials = ChannelCredentials.Insecure;
                o.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
            }));
        var pods = await cluster.StartServiceAsync("factory", 2);
        var client = cluster.Provider.GetRequiredService<Pods.PodsClient>();

        Assert.True(await Calls.ReachAllAsync(client, [.. pods.Select(p => p.Name)]));
    }
}
