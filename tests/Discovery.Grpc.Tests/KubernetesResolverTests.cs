using System.Threading.Channels;
using Grpc.Net.Client.Balancer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Grpc.Tests;

/// <summary>The resolver on its own, with a listener standing in for the channel: what it publishes, and when.</summary>
public sealed class KubernetesResolverTests
{
    [Fact]
    public async Task Start_pushes_every_snapshot_and_refresh_republishes_without_an_api_call()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var pods = await cluster.StartServiceAsync("pushed", 2);
        var parser = cluster.Provider.GetRequiredService<ServiceHostParser>();
        var address = new Uri("kubernetes:///pushed:grpc");
        using var resolver = new KubernetesResolver(address, KubernetesGrpcTargetParser.Parse(address, parser), null, cluster.Resolver, new KubernetesGrpcResolverOptions(), TimeProvider.System, NullLogger.Instance);
        var results = System.Threading.Channels.Channel.CreateUnbounded<ResolverResult>();

        resolver.Start(result => results.Writer.TryWrite(result));
        var first = await NextAsync(results);
        Assert.Equal(pods.Select(p => $"{p.Address}:{p.Port}").Order(), first.Addresses!.Select(a => a.ToString()).Order());

        // A change is pushed: no poll, no refresh asked.
        var added = await cluster.AddPodAsync("pushed", "pushed-new");
        ResolverResult second;
        do
        {
            second = await NextAsync(results);
        }
        while (!second.Addresses!.Any(a => a.ToString() == $"{added.Address}:{added.Port}"));

        await cluster.Emulator.WaitForWatchesIdleAsync(TestContext.Current.CancellationToken);
        cluster.Emulator.ClearRequests();
        resolver.Refresh();
        var refreshed = await NextAsync(results);

        Assert.Equal(second.Addresses!.Select(a => a.ToString()), refreshed.Addresses!.Select(a => a.ToString()));
        Assert.Empty(cluster.Emulator.Requests);
        Assert.All(refreshed.Addresses!, a => Assert.True(a.Attributes.TryGetValue(KubernetesResolverFactory.EndpointKey, out var endpoint) && endpoint.PodName is not null));
    }

    private static async Task<ResolverResult> NextAsync(Channel<ResolverResult> results)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        return await results.Reader.ReadAsync(deadline.Token);
    }
}
