using Discovery.Demo.Story;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 3: the Deployment scales from 3 to 4 replicas. The new pod appears in the EndpointSlice as ready and starts
/// receiving its share at once: no DNS TTL to wait out, no connection pinned to the old pods.
/// </summary>
public sealed class ScaleUpPhase : IDemoPhase
{
    /// <summary>The new pod's name.</summary>
    public const string NewPodName = "alpaca-prod-7c9f6-b3n7w";

    /// <summary>The new pod's address.</summary>
    public const string NewPodAddress = "127.0.0.14";

    private static readonly TimeSpan MaxPropagation = TimeSpan.FromSeconds(1);

    /// <inheritdoc/>
    public string Title => "3. Scale up: a fourth pod joins";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;
        var window = context.Pacing.TrafficWindow;

        await using var traffic = context.StartTraffic(DemoContext.AlpacaUri);
        await context.ShowTrafficAsync(window / 3, cancellationToken, traffic);

        console.Say($"kubectl scale deployment alpaca-prod --replicas=4 → {NewPodName} on {NewPodAddress} becomes ready.");
        var (pod, addedAt) = await context.Cluster.AddPodAsync(context.Alpaca, NewPodName, NewPodAddress, cancellationToken);
        var seenAt = await context.AlpacaChanges.WaitForAsync(s => s.UsableEndpoints.Any(e => e.Address == pod.Address), addedAt, context.Pacing.ChangeTimeout, cancellationToken);
        await context.ShowTrafficAsync(window, cancellationToken, traffic);
        await traffic.StopAsync();

        var records = traffic.Log.ToList();
        var firstHit = TrafficStatistics.FirstRequestReaching(records, pod.Name, addedAt);
        var joinMs = firstHit is null ? (double?)null : TrafficStatistics.Milliseconds(addedAt, firstHit.StartedAt);
        var afterJoin = firstHit is null ? [] : records.Where(r => r.StartedAt >= firstHit.StartedAt).ToList();
        var counts = TrafficStatistics.CountByPod(afterJoin, context.Alpaca.Pods.Select(p => p.Name));
        var failed = records.Count(r => !r.Succeeded);
        var joined = seenAt is not null && joinMs is not null && joinMs <= MaxPropagation.TotalMilliseconds;
        var even = TrafficStatistics.IsEvenlySpread(counts);

        console.Report(joined, joinMs is null
            ? $"{pod.Name} got no traffic"
            : $"first request reached {pod.Name} {TrafficStatistics.FormatMilliseconds(joinMs.Value)} after it was added");
        console.Bars(counts);
        console.Report(even, even ? "the four pods share the load evenly" : "the spread over four pods is uneven");
        console.Report(failed == 0, $"{failed} failed requests of {TrafficStatistics.FormatCount(records.Count)}");
        PhaseReporting.ReportFirstFailure(console, records);

        var passed = joined && even && failed == 0;
        return new PhaseResult(
            Title,
            passed,
            passed ? "new pod took its share at once" : "new pod was slow to join, or the spread was uneven",
            $"first request after {(joinMs is null ? "—" : TrafficStatistics.FormatMilliseconds(joinMs.Value))}; "
            + $"then {TrafficStatistics.Shares(counts)}; {failed} failed");
    }
}
