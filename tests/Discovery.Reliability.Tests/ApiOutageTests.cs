using System.Diagnostics;
using Discovery.Testing;

namespace Discovery.Reliability.Tests;

/// <summary>Scenario 1: the API server goes away under steady load, then comes back.</summary>
public sealed class ApiOutageTests
{
    [Fact]
    public async Task Requests_keep_succeeding_through_an_api_outage_and_the_watches_resume()
    {
        var outage = RunMode.Pick(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(60));
        var rate = RunMode.Pick(150.0, 500.0, 500.0);
        var figures = new Figures("1. API outage under steady load");
        string[] services = ["outage-a", "outage-b", "outage-c"];

        await using var emulator = await Cluster.StartEmulatorAsync();
        await using var pods = await PodPool.StartAsync(subnet: 1, count: 6);
        for (var i = 0; i < services.Length; i++)
        {
            emulator.ApplyServiceWithEndpoints(Cluster.Namespace, services[i], pods.Port, [PodPool.Address(1, 2 * i), PodPool.Address(1, (2 * i) + 1)], withEndpoints: false);
        }

        // Short mode caps the back-off so the scenario stays short; medium and long keep the product defaults.
        await using var stack = DiscoveryStack.Create(emulator.CreateClient(), o =>
        {
            if (RunMode.IsShort)
            {
                o.ReconnectMaxDelay = TimeSpan.FromSeconds(1);
            }
        });
        foreach (var service in services)
        {
            await stack.Resolver.GetSnapshotAsync(Cluster.Key(service), TestContext.Current.CancellationToken);
        }

        await Eventually.True(() => emulator.OpenWatchCount >= 2 * services.Length, "every watch is open", TimeSpan.FromSeconds(10));

        var load = new Load(stack.Client, [.. services.Select(s => (Cluster.UriOf(s), Cluster.Key(s)))]);
        using var stopLoad = new CancellationTokenSource();
        var running = load.RunAsync(rate, TimeSpan.FromMinutes(10), stopLoad.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));

        var sentBefore = load.Sent;
        await emulator.Faults.StartOutageAsync(OutageMode.RefuseConnections);
        await Task.Delay(outage);

        // The outage cut the watches, and the client saw it: no watch open, and every watcher failing (reconnects refused).
        var watchesOpenAtEnd = emulator.OpenWatchCount;
        var statuses = stack.Resolver.GetWatcherStatuses();
        var failing = statuses.Count(s => s.LastError is not null);
        emulator.ClearRequests();
        await emulator.Faults.EndOutageAsync();
        var back = Stopwatch.GetTimestamp();
        var sentDuring = load.Sent - sentBefore;

        var resumeBound = TimeSpan.FromSeconds(45);
        var resumed = await Eventually.UntilAsync(() => emulator.OpenWatchCount >= 2 * services.Length, resumeBound);
        var resumedAfter = Stopwatch.GetElapsedTime(back);

        // A change made after the return must reach requests.
        Cluster.SetEndpoints(emulator, services[0], pods.Port, [PodPool.Address(1, 0)]);
        var propagated = await Eventually.UntilAsync(
            () => stack.Resolver.TryGetSnapshot(Cluster.Key(services[0]), out var s) && s.UsableEndpoints.Length == 1,
            TimeSpan.FromSeconds(45));
        var propagatedAfter = Stopwatch.GetElapsedTime(back);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stopLoad.CancelAsync();
        await running;

        var requests = emulator.Requests;
        var lists = requests.Count(r => !r.IsWatch && r.Method == "GET");
        var watches = requests.Count(r => r.IsWatch);
        var sliceWatches = requests.Count(r => r.IsWatch && r.Path.EndsWith("/endpointslices", StringComparison.Ordinal));
        figures
            .Add("outage length (connections refused)", outage)
            .Add("offered load", $"{rate} req/s over {services.Length} services")
            .Add("requests sent / succeeded / failed", $"{load.Sent} / {load.Succeeded} / {load.Failed}")
            .Add("requests sent during the outage", sentDuring)
            .Add("requests shed by the load generator (machine too slow)", load.Shed)
            .Add("errors", load.ErrorSummary)
            .Add("time from the API's return to all watches open again", resumed ? resumedAfter : $"not within {resumeBound.TotalSeconds} s")
            .Add("time from the API's return until a new change is visible", propagated ? propagatedAfter : "not propagated")
            .Add("re-listed after the return", lists > 0 ? $"yes ({lists} list requests, {watches} watch requests)" : $"no (resumed from the last resourceVersion; {watches} watch requests)")
            .Add("at the end of the outage: watches open / watchers failing", $"{watchesOpenAtEnd} / {failing} of {statuses.Count}")
            .Add("back-off cap", RunMode.IsShort ? "1 s (short mode)" : "30 s (default)")
            .Publish();

        Assert.Equal(0, load.Failed);
        Assert.Equal(0, watchesOpenAtEnd);
        Assert.Equal(services.Length, statuses.Count);
        Assert.True(failing == services.Length, $"only {failing} of {services.Length} watchers noticed the outage: {string.Join("; ", statuses.Select(s => $"{s.Service}: {s.LastError ?? "no error"}"))}");
        Assert.True(resumed, "the watches did not resume after the outage");
        // Resumed means new watches: every Service's EndpointSlice watch was asked for again after the return.
        Assert.True(sliceWatches >= services.Length, $"{sliceWatches} EndpointSlice watch requests after the return, for {services.Length} Services");
        Assert.True(propagated, "a change made after the outage did not reach the snapshot");
    }
}
