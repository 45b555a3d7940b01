using System.Globalization;
using System.Text.RegularExpressions;

namespace Discovery.Reliability.Tests;

/// <summary>
/// Scenario 4: the EndpointSlice watch stays open and silent forever (a dead connection a proxy keeps half-open). The
/// client must give up after its own deadline — the server-side timeoutSeconds it asked for plus the grace period —
/// reconnect, and pick up the change it missed.
/// </summary>
public sealed partial class StalledWatchTests
{
    [Fact]
    public async Task A_silent_watch_is_abandoned_after_timeout_plus_grace_and_the_missed_change_arrives()
    {
        var watchTimeout = RunMode.Pick(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
        var grace = RunMode.Pick(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10));
        var figures = new Figures("4. Stalled watch");
        const string service = "stall";

        await using var api = await RawApi.StartAsync();
        api.SetSlice(service, 8080, "127.77.4.2");
        api.SilentWatches = true;
        await using var stack = DiscoveryStack.Create(api.CreateClient(), o =>
        {
            o.WatchTimeout = watchTimeout;
            o.WatchGracePeriod = grace;
            o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(100);
            o.ReconnectMaxDelay = TimeSpan.FromSeconds(1);
        });
        var key = Cluster.Key(service);
        await stack.Resolver.GetSnapshotAsync(key, TestContext.Current.CancellationToken);

        (DateTime At, bool Watch, string Resource, string Query)[] SliceWatches() => [.. api.Requests.Where(r => r.Watch && r.Resource == "endpointslices")];
        await Eventually.True(() => SliceWatches().Length >= 1, "the EndpointSlice watch opens", TimeSpan.FromSeconds(10));
        var first = SliceWatches()[0];
        var askedSeconds = int.Parse(TimeoutSeconds().Match(first.Query).Groups[1].Value, CultureInfo.InvariantCulture);
        var deadline = TimeSpan.FromSeconds(askedSeconds) + grace;

        // The open watch stays dead; the next one works and carries the change made meanwhile.
        api.SilentWatches = false;
        var changed = api.SetSlice(service, 8080, "127.77.4.3");
        _ = api.SendLine(RawApi.Line("MODIFIED", changed));

        var bound = deadline + TimeSpan.FromSeconds(15);
        var detected = await Eventually.UntilAsync(() => SliceWatches().Length >= 2, bound);
        var detectedAfter = detected ? SliceWatches()[1].At - first.At : (TimeSpan?)null;
        var recovered = await Eventually.UntilAsync(
            () => stack.Resolver.TryGetSnapshot(key, out var s) && s.UsableEndpoints.Length == 1 && s.UsableEndpoints[0].Address == "127.77.4.3",
            bound);
        var recoveredAfter = DateTime.UtcNow - first.At;
        var status = stack.Resolver.GetWatcherStatuses().Single();

        figures
            .Add("configured WatchTimeout / grace", $"{watchTimeout.TotalSeconds} s / {grace.TotalSeconds} s")
            .Add("timeoutSeconds asked of the server (jittered)", askedSeconds)
            .Add("client deadline (timeoutSeconds + grace)", deadline)
            .Add("time from the silent watch's start to the next watch request", detectedAfter)
            .Add("lateness of detection past the deadline", detectedAfter - deadline)
            .Add("time from the silent watch's start until the missed change is visible", recovered ? recoveredAfter : "not recovered")
            .Add("watcher status afterwards", $"synced {status.IsSynced}, stale {status.IsStale}, last error {status.LastError ?? "none"}")
            .Publish();

        Assert.True(detected, "the client never abandoned the silent watch");
        // Measured between the server's receipts of the two watch requests, so a loaded machine shifts it either way; the
        // exact instant is held by WatchLifecycleTests on the fake clock. Early by the grace period (1 s or more) still fails.
        Assert.InRange(detectedAfter!.Value, deadline - TimeSpan.FromMilliseconds(500), deadline + TimeSpan.FromSeconds(10));
        Assert.True(recovered, "the change made during the stall never arrived");
    }

    [GeneratedRegex("timeoutSeconds=([0-9]+)")]
    private static partial Regex TimeoutSeconds();
}
