using Discovery.Demo.Cluster;
using Discovery.Demo.Story;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 2: a pod fails its readiness probe. The EndpointSlice marks it <c>ready=false</c>; the watch delivers the
/// change and the pod leaves the rotation within milliseconds. Then the probe passes again and it returns.
/// </summary>
public sealed class ReadinessPhase : IDemoPhase
{
    /// <summary>A change must reach the request path within this time to pass (generous for a loaded CI machine).</summary>
    private static readonly TimeSpan MaxPropagation = TimeSpan.FromSeconds(1);

    /// <inheritdoc/>
    public string Title => "2. A pod fails its readiness probe, then recovers";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;
        var window = context.Pacing.TrafficWindow;
        var pod = context.Alpaca.Pods[1];

        await using var traffic = context.StartTraffic(DemoContext.AlpacaUri);
        await context.ShowTrafficAsync(window / 2, cancellationToken, traffic);

        console.Say($"{pod.Name} fails its readiness probe: its endpoint becomes {EndpointState.NotReady}.");
        var failedAt = await context.Cluster.SetEndpointStateAsync(context.Alpaca, pod, EndpointState.NotReady, cancellationToken);
        var droppedAt = await context.AlpacaChanges.WaitForAsync(s => !IsUsable(s, pod), failedAt, context.Pacing.ChangeTimeout, cancellationToken);
        await context.ShowTrafficAsync(window, cancellationToken, traffic);

        console.Say($"{pod.Name} passes its probe again: {EndpointState.Healthy}.");
        var recoveredAt = await context.Cluster.SetEndpointStateAsync(context.Alpaca, pod, EndpointState.Healthy, cancellationToken);
        var restoredAt = await context.AlpacaChanges.WaitForAsync(s => IsUsable(s, pod), recoveredAt, context.Pacing.ChangeTimeout, cancellationToken);
        await context.ShowTrafficAsync(window / 2, cancellationToken, traffic);
        await traffic.StopAsync();

        var records = traffic.Log.ToList();
        var whileNotReady = records.Where(r => r.StartedAt >= failedAt && r.StartedAt < recoveredAt).ToList();
        var firstAvoiding = TrafficStatistics.FirstRequestAvoiding(whileNotReady, pod.Name, failedAt);
        var avoidMs = firstAvoiding is null ? (double?)null : TrafficStatistics.Milliseconds(failedAt, firstAvoiding.StartedAt);
        var lateHits = firstAvoiding is null ? whileNotReady.Count(r => r.Pod == pod.Name) : whileNotReady.Count(r => r.Pod == pod.Name && r.StartedAt < firstAvoiding.StartedAt);
        var firstBack = TrafficStatistics.FirstRequestReaching(records, pod.Name, recoveredAt);
        var backMs = firstBack is null ? (double?)null : TrafficStatistics.Milliseconds(recoveredAt, firstBack.StartedAt);
        var failed = records.Count(r => !r.Succeeded);

        var left = droppedAt is not null && avoidMs is not null && avoidMs <= MaxPropagation.TotalMilliseconds;
        var returned = restoredAt is not null && backMs is not null && backMs <= MaxPropagation.TotalMilliseconds;
        var snapshotMs = droppedAt is null ? "never" : TrafficStatistics.FormatMilliseconds(TrafficStatistics.Milliseconds(failedAt, droppedAt.Value));
        console.Report(droppedAt is not null, $"the app's endpoint snapshot dropped {pod.Name} {snapshotMs} after the change");
        console.Report(left, avoidMs is null
            ? $"requests kept reaching {pod.Name} while it was not ready"
            : $"first request that avoided it: {TrafficStatistics.FormatMilliseconds(avoidMs.Value)} after the change "
              + $"({lateHits} requests sent before that still reached it; a not-ready pod keeps answering)");
        console.Report(returned, backMs is null
            ? $"{pod.Name} did not get traffic back"
            : $"back in rotation: first request reached it {TrafficStatistics.FormatMilliseconds(backMs.Value)} after it became ready");
        console.Report(failed == 0, $"{failed} failed requests of {TrafficStatistics.FormatCount(records.Count)}");
        console.Bars(TrafficStatistics.CountByPod(whileNotReady, context.Alpaca.Pods.Select(p => p.Name)));
        PhaseReporting.ReportFirstFailure(console, records);

        var passed = left && returned && failed == 0;
        return new PhaseResult(
            Title,
            passed,
            passed ? "left the rotation and came back" : "did not leave or return in time, or requests failed",
            $"left after {(avoidMs is null ? "—" : TrafficStatistics.FormatMilliseconds(avoidMs.Value))} (snapshot {snapshotMs}); "
            + $"back after {(backMs is null ? "—" : TrafficStatistics.FormatMilliseconds(backMs.Value))}; {failed} failed");
    }

    private static bool IsUsable(ServiceEndpointSnapshot snapshot, PodEndpoint pod) =>
        snapshot.UsableEndpoints.Any(e => e.Address == pod.Address);
}
