using Discovery.Internal;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>The reconnect back-off of the list-then-watch loop, on a fake clock with fixed jitter.</summary>
public class ReconnectBackoffTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>The delays the loop announced for failed reads of the Service's EndpointSlices, in order.</summary>
    private static TimeSpan[] SliceDelays(TestLogs logs) => [.. logs.Collector.GetSnapshot()
        .Where(r => r.Id.Id == 5 && r.Message.StartsWith("Reading endpointslices", StringComparison.Ordinal))
        .Select(r => TimeSpan.Parse(r.StructuredState!.Single(p => p.Key == "Delay").Value!, System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public async Task Delays_grow_exponentially_up_to_the_cap_and_start_over_after_a_watch_made_progress()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(
            o =>
            {
                o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(100);
                o.ReconnectMaxDelay = TimeSpan.FromSeconds(2);
            },
            loggerFactory: logs.Factory,
            random: () => 0.5);
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        // The slice watch breaks and every reconnect fails: eight failures in a row.
        test.Api.WatchFault = q => q.Resource == WatchedResource.EndpointSlices ? new HttpRequestException("connection refused") : null;
        test.Api.BreakWatches();
        await Eventually.True(() => SliceDelays(logs).Length >= 8, "eight reconnects failed", test.Time, TimeSpan.FromMilliseconds(250));
        var failing = SliceDelays(logs)[..8];
        Assert.True(failing[0] >= TimeSpan.FromMilliseconds(50) && failing[0] <= TimeSpan.FromMilliseconds(200), $"first delay {failing[0]}");
        for (var i = 1; i < failing.Length; i++)
        {
            Assert.True(failing[i] <= TimeSpan.FromSeconds(2), $"delay {i} ({failing[i]}) is above the cap");
            Assert.True(failing[i] > failing[i - 1] || failing[i] == TimeSpan.FromSeconds(2), $"delay {i} ({failing[i]}) did not grow from {failing[i - 1]}");
        }

        Assert.Equal(TimeSpan.FromSeconds(2), failing[^1]);

        // The API heals; the reconnected watch delivers a change (progress), then breaks again.
        test.Api.WatchFault = null;
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-progress", ("10.1.0.40", true)));
        await Eventually.True(
            () => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Any(e => e.Address == "10.1.0.40"),
            "the watch delivered the change",
            test.Time,
            TimeSpan.FromMilliseconds(250));
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open again");
        var before = SliceDelays(logs).Length;
        var watchesBefore = test.Api.WatchCalls[WatchedResource.EndpointSlices];
        test.Api.WatchFault = q => q.Resource == WatchedResource.EndpointSlices ? new HttpRequestException("connection refused") : null;
        test.Api.BreakWatches();
        await Eventually.True(() => SliceDelays(logs).Length > before, "the break was reported");

        // The sequence starts over: the same first delay as before (same jitter), not the cap.
        Assert.Equal(failing[0], SliceDelays(logs)[before]);

        // And the reconnect waits that long on the clock, not less.
        test.Time.Advance(failing[0] - TimeSpan.FromMilliseconds(1));
        await Task.Yield();
        Assert.Equal(watchesBefore, test.Api.WatchCalls[WatchedResource.EndpointSlices]);
        await Eventually.True(() => test.Api.WatchCalls[WatchedResource.EndpointSlices] > watchesBefore, "the reconnect after the first delay", test.Time, TimeSpan.FromMilliseconds(1));
        Assert.Equal(failing[1], await FirstDelayAfterAsync(logs, before + 1, test));
    }

    private static async Task<TimeSpan> FirstDelayAfterAsync(TestLogs logs, int index, TestResolver test)
    {
        await Eventually.True(() => SliceDelays(logs).Length > index, "the next failure was reported", test.Time, TimeSpan.FromMilliseconds(1));
        return SliceDelays(logs)[index];
    }
}
