using Microsoft.Extensions.Time.Testing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace Discovery.Integrations.Tests;

/// <summary>
/// The YARP resolver's hold on the watchers of the Services it routes to: YARP's requests never reach the core, so without it
/// a gateway's Services would idle out; and while the API is down, a reload must still answer with the last good set.
/// </summary>
public class YarpWatcherHoldTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(1);

    // After the outage the watcher re-lists over real loopback HTTP while the test moves fake time on to end its back-off
    // (at most ReconnectMaxDelay, 30 s). The list's own timeout runs on that fake clock: with the default 30 s and fake time
    // running ~100 times faster than real time, a list that took 0.3 s on a loaded machine would count as timed out, again
    // and again (shown by delaying the API's answers by 3 s). The longest timeout and a smaller step give a list ~25 s of
    // real time and still end the back-off within ~2 s.
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan RecoveryStep = TimeSpan.FromMilliseconds(250);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string Id(Pod pod) => $"alpaca/{pod.Address}:{pod.Port}";

    // In the order AvailableIds() gives (ordinal): loopback addresses are handed out across the whole test run, so pod a may
    // well be 127.0.0.9 and pod c 127.0.0.10, which sorts before it.
    private static string[] Ids(params Pod[] pods) => [.. pods.Select(Id).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Through_an_API_outage_longer_than_the_idle_timeout_a_YARP_reload_keeps_the_last_destinations_and_after_recovery_a_change_propagates()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        cluster.ApplyService("alpaca-prod", [a, b]);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await YarpProxy.StartAsync(
            cluster,
            new Dictionary<string, DestinationConfig> { ["alpaca"] = new() { Address = "http://alpaca-prod" } },
            o => o.MinimumReloadInterval = TimeSpan.Zero,
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.Configure<KubernetesDiscoveryOptions>(o =>
                {
                    o.IdleTimeout = IdleTimeout;
                    o.RequestTimeout = RequestTimeout;
                });
            });
        var resolver = (KubernetesServiceEndpointResolver)proxy.Services.GetRequiredService<IServiceEndpointResolver>();
        Assert.Equal(Ids(a, b), proxy.AvailableIds());

        await cluster.Emulator.Faults.StartOutageAsync(OutageMode.RefuseConnections);
        cluster.Emulator.Faults.DropWatches();
        await Eventually.True(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return resolver.GetWatcherStatuses() is [{ LastError: not null }];
        }, "the watcher notices the outage");

        // Ten idle timeouts with no request reaching the core (YARP answers from its own state): the resolver's hold keeps the
        // watcher, and with it the last snapshot.
        for (var i = 0; i < 10; i++)
        {
            time.Advance(IdleTimeout);
        }

        var status = Assert.Single(resolver.GetWatcherStatuses());
        Assert.Equal(2, status.UsableEndpoints);

        // A reload during the outage (here a configuration change, as a config provider makes) resolves again: it must answer
        // with the last known pods. Had it thrown, YARP would keep its old configuration, so the new metadata shows it did not.
        var memory = proxy.Services.GetRequiredService<InMemoryConfigProvider>();
        var config = memory.GetConfig();
        memory.Update(config.Routes, [.. config.Clusters.Select(c => c with { Metadata = new Dictionary<string, string> { ["reload"] = "during-outage" } })]);
        await Eventually.True(() => proxy.ClusterConfig()?.Metadata?.GetValueOrDefault("reload") == "during-outage", "YARP applies the reload made during the outage");
        Assert.Equal(Ids(a, b), proxy.AvailableIds());
        var answers = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await proxy.Client.GetStringAsync("/", Token));
        }

        Assert.Equal(["alpaca-a", "alpaca-b"], answers.Order());

        // After the outage the resolver still listens: a change made while the API was down reaches YARP.
        var c = await cluster.StartPodAsync("alpaca-c");
        cluster.ApplyPod("alpaca-prod", c);
        cluster.SetReady("alpaca-prod", b, ready: false);
        cluster.Emulator.ClearRequests();
        await cluster.Emulator.Faults.EndOutageAsync();
        var recovered = await Eventually.UntilAsync(() =>
        {
            time.Advance(RecoveryStep);
            return proxy.AvailableIds().SequenceEqual(Ids(a, c));
        });
        Assert.True(recovered, "YARP did not see pod c join and pod b leave within 30 s of the API's return. YARP: "
            + string.Join(", ", proxy.AvailableIds()) + "; watcher: " + System.Text.Json.JsonSerializer.Serialize(resolver.GetWatcherStatuses())
            + "; snapshot: " + (resolver.TryGetSnapshot(new ServiceKey("default", "alpaca-prod"), out var last) ? $"v{last.Version}, {last.UsableEndpoints.Length} usable, superseded {last.IsSuperseded}" : "none")
            + "; API requests since: " + string.Join(" | ", cluster.Emulator.Requests.Select(r => r.Method + " " + r.PathAndQuery)));
        await Eventually.True(async () => await proxy.Client.GetStringAsync("/", Token) == "alpaca-c", "pod c gets requests");
    }
}
