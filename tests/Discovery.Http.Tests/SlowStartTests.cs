using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Discovery.Http.Tests.KubeProxyCluster;

namespace Discovery.Http.Tests;

/// <summary>Slow start through the emulator, the real core and the stock client, with Kestrel pods, on a <see cref="FakeTimeProvider"/>.</summary>
public sealed class SlowStartTests
{
    private static async Task<(EmulatedCluster Cluster, FakeTimeProvider Time)> StartAsync(string policy)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cluster = await EmulatedCluster.StartAsync(
            s =>
            {
                s.AddSingleton<TimeProvider>(time);
                s.AddHttpClient("slow").AddKubernetesDiscovery(o =>
                {
                    o.LoadBalancingPolicy = policy;
                    o.SlowStartWindow = TimeSpan.FromSeconds(10);
                });
                s.AddHttpClient("plain").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = policy);
            },
            o => o.IdleTimeout = TimeSpan.FromHours(1));
        cluster.ApplyService("svc", _ => { });
        return (cluster, time);
    }

    private static async Task<int> CountAsync(HttpClient client, Backend backend, int requests)
    {
        var before = backend.Requests;
        await SendAsync(client, "svc", requests);
        return backend.Requests - before;
    }

    [Fact]
    public async Task A_new_pod_gets_a_share_that_ramps_up_over_the_window_while_pods_present_at_startup_are_not_slowed()
    {
        var b = await StartBackendsAsync(3);
        var (cluster, time) = await StartAsync(LoadBalancingPolicyNames.RoundRobin);
        await using var _ = cluster;
        cluster.ApplyPod("svc", b[0]);
        cluster.ApplyPod("svc", b[1]);
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 2);
        var slow = cluster.Client("slow");
        var plain = cluster.Client("plain");

        // Present when the client first sends: full shares at once.
        await SendAsync(slow, "svc", 10);
        await SendAsync(plain, "svc", 10);
        Assert.Equal([10, 10], b.Take(2).Select(x => x.Requests));

        cluster.ApplyPod("svc", b[2]);
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 3);
        var atStart = await CountAsync(slow, b[2], 90);
        var withoutSlowStart = await CountAsync(plain, b[2], 90);
        time.Advance(TimeSpan.FromSeconds(5));
        var halfway = await CountAsync(slow, b[2], 90);
        time.Advance(TimeSpan.FromSeconds(5));
        var after = await CountAsync(slow, b[2], 90);

        // Round robin gives each of 3 pods 30 of 90; slow start keeps 10 % of that at first, 50 % halfway, all after the window.
        Assert.Equal(30, withoutSlowStart);
        Assert.InRange(atStart, 1, 5);
        Assert.InRange(halfway, 12, 18);
        Assert.Equal(30, after);
        await DisposeAllAsync(b);
    }

    [Theory]
    [InlineData(LoadBalancingPolicyNames.Random)]
    [InlineData(LoadBalancingPolicyNames.PowerOfTwoChoices)]
    public async Task Slow_start_applies_with_every_policy(string policy)
    {
        var b = await StartBackendsAsync(3);
        var (cluster, time) = await StartAsync(policy);
        await using var _ = cluster;
        cluster.ApplyPod("svc", b[0]);
        cluster.ApplyPod("svc", b[1]);
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 2);
        var slow = cluster.Client("slow");
        await SendAsync(slow, "svc", 2);

        cluster.ApplyPod("svc", b[2]);
        await cluster.WaitForSnapshotAsync("svc", s => s.ReadyCount == 3);
        var atStart = await CountAsync(slow, b[2], 300);
        time.Advance(TimeSpan.FromSeconds(11));
        var after = await CountAsync(slow, b[2], 300);

        // A third of 300 is 100; a tenth of that at the start. Generous bounds: the policies are random.
        Assert.InRange(atStart, 0, 30);
        Assert.InRange(after, 60, 140);
        await DisposeAllAsync(b);
    }
}
