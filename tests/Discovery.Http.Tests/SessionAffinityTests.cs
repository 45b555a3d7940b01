using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Discovery.Http.Tests.KubeProxyCluster;

namespace Discovery.Http.Tests;

/// <summary>
/// <c>sessionAffinity: ClientIP</c> through the emulator, the real core and the stock client, with Kestrel pods; the timeout runs
/// on a <see cref="FakeTimeProvider"/>.
/// </summary>
public sealed class SessionAffinityTests
{
    private static async Task<(EmulatedCluster Cluster, FakeTimeProvider Time)> StartAsync(string policy = LoadBalancingPolicyNames.RoundRobin, int? timeoutSeconds = 60, string? nodeName = null)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cluster = await EmulatedCluster.StartAsync(
            s =>
            {
                s.AddSingleton<TimeProvider>(time);
                s.AddHttpClient("c").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = policy);
                s.AddHttpClient("other").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = policy);
            },
            o =>
            {
                o.IdleTimeout = TimeSpan.FromHours(2);
                o.NodeName = nodeName;
            });
        cluster.ApplyService("sticky", s =>
        {
            s.SessionAffinity = "ClientIP";
            s.SessionAffinityConfig = timeoutSeconds is null ? null : new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = timeoutSeconds } };
        });
        return (cluster, time);
    }

    private static async Task<string> GetAsync(HttpClient client)
    {
        using var response = await client.GetAsync("http://sticky/", TestContext.Current.CancellationToken);
        return await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData(LoadBalancingPolicyNames.RoundRobin)]
    [InlineData(LoadBalancingPolicyNames.Random)]
    [InlineData(LoadBalancingPolicyNames.PowerOfTwoChoices)]
    public async Task Requests_stick_to_one_pod_while_each_comes_within_the_timeout_of_the_last(string policy)
    {
        var b = await StartBackendsAsync(3);
        var (cluster, time) = await StartAsync(policy);
        await using var _ = cluster;
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 3);
        var client = cluster.Client("c");

        // 20 requests 50 s apart: 950 s in all, far beyond the 60 s timeout, which runs from the last request.
        var first = await GetAsync(client);
        for (var i = 0; i < 19; i++)
        {
            time.Advance(TimeSpan.FromSeconds(50));
            Assert.Equal(first, await GetAsync(client));
        }

        Assert.Equal(20, b.Max(x => x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Without_affinity_round_robin_spreads_the_same_requests()
    {
        var b = await StartBackendsAsync(3);
        var (cluster, _) = await StartAsync();
        await using var __ = cluster;
        cluster.ApplyService("sticky", s => s.SessionAffinity = "None");
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 3 && s.ServiceInfo?.SessionAffinityTimeout is null);

        await SendAsync(cluster.Client("c"), "sticky", 9);

        Assert.All(b, x => Assert.Equal(3, x.Requests));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task After_the_timeout_without_requests_the_next_one_picks_afresh_and_sticks_again()
    {
        var b = await StartBackendsAsync(3);
        var (cluster, time) = await StartAsync();
        await using var _ = cluster;
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 3);
        var client = cluster.Client("c");
        var first = await GetAsync(client);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(first, await GetAsync(client));

        time.Advance(TimeSpan.FromSeconds(61));
        var second = await GetAsync(client);
        Assert.NotEqual(first, second);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(second, await GetAsync(client));
        }

        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task The_default_timeout_is_three_hours()
    {
        var b = await StartBackendsAsync(2);
        var (cluster, time) = await StartAsync(timeoutSeconds: null);
        await using var _ = cluster;
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 2 && s.ServiceInfo?.SessionAffinityTimeout == TimeSpan.FromHours(3));
        var client = cluster.Client("c");
        var first = await GetAsync(client);
        time.Advance(TimeSpan.FromHours(3) - TimeSpan.FromSeconds(1));
        Assert.Equal(first, await GetAsync(client));
        time.Advance(TimeSpan.FromHours(3));
        Assert.NotEqual(first, await GetAsync(client));
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task When_the_sticky_pod_leaves_the_next_request_picks_another_and_sticks_to_it()
    {
        var b = await StartBackendsAsync(3);
        var (cluster, _) = await StartAsync();
        await using var __ = cluster;
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 3);
        var client = cluster.Client("c");
        var first = await GetAsync(client);
        var gone = b.Single(x => x.Name == first);
        cluster.Emulator.Delete<V1EndpointSlice>("default", EmulatedCluster.SliceName("sticky", gone));
        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 2);

        var second = await GetAsync(client);
        Assert.NotEqual(first, second);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(second, await GetAsync(client));
        }

        Assert.Equal(1, gone.Requests);
        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task A_connect_failure_on_the_sticky_pod_retries_elsewhere_and_sticks_there()
    {
        var b = await StartBackendsAsync(3);
        var (cluster, _) = await StartAsync();
        await using var __ = cluster;
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 3);
        var client = cluster.Client("c");
        var first = await GetAsync(client);
        await b.Single(x => x.Name == first).StopAsync();

        // Still in the endpoint set, but refusing connections: the request is retried on another pod, which becomes the sticky one.
        var second = await GetAsync(client);
        Assert.NotEqual(first, second);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(second, await GetAsync(client));
        }

        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Every_client_of_the_process_shares_the_sticky_pod_as_they_share_the_client_IP()
    {
        var b = await StartBackendsAsync(3);
        var (cluster, _) = await StartAsync();
        await using var __ = cluster;
        foreach (var backend in b)
        {
            cluster.ApplyPod("sticky", backend);
        }

        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 3);
        var first = await GetAsync(cluster.Client("c"));

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(first, await GetAsync(cluster.Client("other")));
        }

        await DisposeAllAsync(b);
    }

    [Fact]
    public async Task Affinity_applies_within_internal_traffic_policy_Local()
    {
        var b = await StartBackendsAsync(4);
        var (cluster, _) = await StartAsync(nodeName: "node-a");
        await using var __ = cluster;
        cluster.ApplyService("sticky", s =>
        {
            s.SessionAffinity = "ClientIP";
            s.InternalTrafficPolicy = "Local";
        });
        cluster.ApplyPod("sticky", b[0], node: "node-b");
        cluster.ApplyPod("sticky", b[1], node: "node-a");
        cluster.ApplyPod("sticky", b[2], node: "node-a");
        cluster.ApplyPod("sticky", b[3], node: "node-b");
        await cluster.WaitForSnapshotAsync("sticky", s => s.ReadyCount == 4 && s.ServiceInfo?.InternalTrafficPolicy == TrafficPolicy.Local);

        await SendAsync(cluster.Client("c"), "sticky", 10);

        Assert.Equal(0, b[0].Requests + b[3].Requests);
        Assert.Equal(10, Math.Max(b[1].Requests, b[2].Requests));
        await DisposeAllAsync(b);
    }
}
