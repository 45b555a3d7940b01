using Discovery.Demo.Cluster;
using Discovery.Demo.Story;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 4: a pod is deleted, the way Kubernetes does it: its endpoint turns terminating (no longer ready, still
/// serving), the pod finishes the requests it has and stops, and the endpoint disappears. Clients that follow the
/// EndpointSlice stop sending before the pod stops listening, so no request fails.
/// </summary>
public sealed class PodDeletionPhase : IDemoPhase
{
    /// <inheritdoc/>
    public string Title => "4. A pod is deleted without a failed request";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;
        var window = context.Pacing.TrafficWindow;
        var pod = context.Alpaca.Pods[0];

        await using var traffic = context.StartTraffic(DemoContext.AlpacaUri);
        await context.ShowTrafficAsync(window / 3, cancellationToken, traffic);

        console.Say($"kubectl delete pod {pod.Name} → its endpoint becomes {EndpointState.TerminatingButServing}.");
        var deletedAt = await context.Cluster.SetEndpointStateAsync(context.Alpaca, pod, EndpointState.TerminatingButServing, cancellationToken);
        var droppedAt = await context.AlpacaChanges.WaitForAsync(s => !s.UsableEndpoints.Any(e => e.Address == pod.Address), deletedAt, context.Pacing.ChangeTimeout, cancellationToken);

        // Like a pod with a preStop hook: keep serving until clients have moved on, then shut down gracefully
        // (Kestrel finishes the requests in flight), and only then does the endpoint leave the slice.
        console.Say($"{pod.Name} drains its in-flight requests and stops listening; its endpoint is removed.");
        await pod.Server.StopAsync(cancellationToken);
        var stoppedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        await context.Cluster.RemovePodAsync(context.Alpaca, pod, cancellationToken);
        await context.ShowTrafficAsync(window, cancellationToken, traffic);
        await traffic.StopAsync();

        var records = traffic.Log.ToList();
        var failed = records.Count(r => !r.Succeeded);
        var afterStop = records.Count(r => r.StartedAt >= stoppedAt && r.Pod == pod.Name);
        var snapshotMs = droppedAt is null ? (double?)null : TrafficStatistics.Milliseconds(deletedAt, droppedAt.Value);

        console.Report(droppedAt is not null, droppedAt is null
            ? $"the app's snapshot still listed {pod.Name}"
            : $"the app's snapshot dropped {pod.Name} {TrafficStatistics.FormatMilliseconds(snapshotMs!.Value)} after it began terminating");
        console.Report(failed == 0, $"{failed} failed requests of {TrafficStatistics.FormatCount(records.Count)} while the pod went away");
        console.Bars(TrafficStatistics.CountByPod(records.Where(r => r.StartedAt >= stoppedAt), context.Alpaca.Pods.Select(p => p.Name)));
        PhaseReporting.ReportFirstFailure(console, records);

        var passed = droppedAt is not null && failed == 0 && afterStop == 0;
        return new PhaseResult(
            Title,
            passed,
            passed ? "pod removed, no request failed" : "requests failed or the pod stayed in rotation",
            $"snapshot updated after {(snapshotMs is null ? "—" : TrafficStatistics.FormatMilliseconds(snapshotMs.Value))}; "
            + $"{failed} failed of {TrafficStatistics.FormatCount(records.Count)}");
    }
}
