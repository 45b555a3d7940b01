using System.Diagnostics;
using Discovery.Demo.App;

namespace Discovery.Demo.Story;

/// <summary>
/// The same application against a real cluster: it cannot stage changes there, so it calls the Services of
/// samples/manifests/backends.yaml for the given time and reports which pods answered. Scale, delete or break a
/// pod with kubectl meanwhile and watch the counts follow.
/// </summary>
public sealed class ClusterTrafficRun
{
    /// <summary>The Services backends.yaml deploys, as the application names them.</summary>
    public static IReadOnlyList<Uri> Targets { get; } = [new("http://alpaca-prod/"), new("http://bandicoot-prod.default/")];

    private readonly DemoConsole _console;
    private readonly DemoApplicationSettings _settings;
    private readonly TimeSpan _duration;
    private readonly DemoPacing _pacing;

    /// <summary>Creates the run.</summary>
    public ClusterTrafficRun(DemoConsole console, DemoApplicationSettings settings, TimeSpan duration, DemoPacing pacing)
    {
        _console = console;
        _settings = settings;
        _duration = duration;
        _pacing = pacing;
    }

    /// <summary>Sends traffic until the duration has passed or <paramref name="cancellationToken"/> fires, then reports.</summary>
    public async Task<DemoReport> RunAsync(CancellationToken cancellationToken)
    {
        _console.Heading("Discovery demo against a real cluster");
        _console.Say($"Calling {string.Join(" and ", Targets)} for {_duration.TotalSeconds:0} s. Change the Deployments with kubectl meanwhile.");
        await using var application = await DemoApplication.StartAsync(_settings, cancellationToken);

        var generators = Targets.Select(t => TrafficGenerator.Start(application.CreateClient, t, _pacing.Concurrency, TimeSpan.FromMilliseconds(20))).ToList();
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (Stopwatch.GetElapsedTime(started) < _duration && !cancellationToken.IsCancellationRequested)
            {
                var remaining = _duration - Stopwatch.GetElapsedTime(started);
                var step = remaining < TimeSpan.FromSeconds(5) ? remaining : TimeSpan.FromSeconds(5);
                try
                {
                    await Task.Delay(step, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                foreach (var generator in generators)
                {
                    var recent = generator.Log.Since(Stopwatch.GetTimestamp() - (long)(step.TotalSeconds * Stopwatch.Frequency));
                    _console.Say($"{generator.Target.Host}: " + string.Join("  ", TrafficStatistics.CountByPod(recent).Select(c => $"{c.Pod}:{c.Count}"))
                        + $"  failed:{recent.Count(r => !r.Succeeded)}");
                }
            }
        }
        finally
        {
            foreach (var generator in generators)
            {
                await generator.DisposeAsync();
            }
        }

        var results = new List<PhaseResult>();
        foreach (var generator in generators)
        {
            var records = generator.Log.ToList();
            var counts = TrafficStatistics.CountByPod(records);
            var failed = records.Count(r => !r.Succeeded);
            _console.Heading(generator.Target.ToString());
            _console.Bars(counts);
            PhaseReporting.ReportFirstFailure(_console, records);

            // Rolling updates in a real cluster may cost the odd request; more than 1 % is a problem.
            var passed = counts.Count > 0 && failed <= records.Count / 100;
            results.Add(new PhaseResult(
                $"Calls to {generator.Target}",
                passed,
                passed ? $"{counts.Count} pods answered" : "no pod answered, or too many requests failed",
                $"{TrafficStatistics.FormatCount(records.Count)} requests, {TrafficStatistics.Shares(counts)}, {failed} failed"));
        }

        var report = new DemoReport(results);
        _console.Heading("Summary");
        _console.Table(["CALLS", "STATUS", "RESULT", "FIGURES"], [.. results.Select(p => (IReadOnlyList<string>)[p.Phase, p.Passed ? "PASS" : "FAIL", p.Result, p.Figures])]);
        return report;
    }
}
