using Discovery.Demo.Story;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 1: the application calls both Services by name and every pod gets its share. The balancer (power of two
/// choices over outstanding requests by default) spreads requests per request, not per connection.
/// </summary>
public sealed class EvenSpreadPhase : IDemoPhase
{
    /// <inheritdoc/>
    public string Title => "1. Requests spread evenly over ready pods";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;
        console.Say($"The app calls {DemoContext.AlpacaUri} (3 pods) and {DemoContext.BandicootUri} (2 pods) by name.");
        console.Say("No DNS, no cluster IP: each request goes to a pod chosen from the endpoints Discovery watches.");

        await using var alpaca = context.StartTraffic(DemoContext.AlpacaUri);
        await using var bandicoot = context.StartTraffic(DemoContext.BandicootUri);
        await context.ShowTrafficAsync(context.Pacing.TrafficWindow, cancellationToken, alpaca, bandicoot);
        await alpaca.StopAsync();
        await bandicoot.StopAsync();

        var alpacaRecords = alpaca.Log.ToList();
        var bandicootRecords = bandicoot.Log.ToList();
        var alpacaCounts = TrafficStatistics.CountByPod(alpacaRecords, context.Alpaca.Pods.Select(p => p.Name));
        var bandicootCounts = TrafficStatistics.CountByPod(bandicootRecords, context.Bandicoot.Pods.Select(p => p.Name));
        var failed = alpacaRecords.Count(r => !r.Succeeded) + bandicootRecords.Count(r => !r.Succeeded);

        console.Say("alpaca-prod:");
        console.Bars(alpacaCounts);
        console.Say("bandicoot-prod:");
        console.Bars(bandicootCounts);

        var even = TrafficStatistics.IsEvenlySpread(alpacaCounts) && TrafficStatistics.IsEvenlySpread(bandicootCounts);
        console.Report(even, even ? "every pod got a fair share (within ±50 % of an even split)" : "the spread is uneven");
        console.Report(failed == 0, $"{failed} failed requests");
        PhaseReporting.ReportFirstFailure(console, alpacaRecords.Concat(bandicootRecords));

        return new PhaseResult(
            Title,
            even && failed == 0,
            even && failed == 0 ? "even spread, no failures" : "uneven spread or failed requests",
            $"alpaca {TrafficStatistics.Shares(alpacaCounts)} of {TrafficStatistics.FormatCount(alpacaRecords.Count)}; "
            + $"bandicoot {TrafficStatistics.Shares(bandicootCounts)} of {TrafficStatistics.FormatCount(bandicootRecords.Count)}; {failed} failed");
    }
}
