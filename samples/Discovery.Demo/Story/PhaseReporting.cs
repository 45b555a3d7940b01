using Discovery.Demo.App;

namespace Discovery.Demo.Story;

/// <summary>Reporting shared by several phases.</summary>
public static class PhaseReporting
{
    /// <summary>Shows the first failed request, if any: the error a user would have seen.</summary>
    public static void ReportFirstFailure(DemoConsole console, IEnumerable<RequestRecord> records)
    {
        ArgumentNullException.ThrowIfNull(console);
        var failure = records.FirstOrDefault(r => !r.Succeeded);
        if (failure is not null)
        {
            console.Say($"first failure: {failure.Error}");
        }
    }

    /// <summary>Judges a phase whose Service has a single backend: every request must reach <paramref name="expectedServer"/>.</summary>
    public static PhaseResult JudgeSingleTarget(DemoContext context, string title, IReadOnlyList<RequestRecord> records, string expectedServer, string via)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(records);
        var answered = records.Count(r => r.Pod == expectedServer);
        var failed = records.Count(r => !r.Succeeded);
        var passed = records.Count > 0 && answered == records.Count;

        context.Console.Report(passed, $"{TrafficStatistics.FormatCount(answered)} of {TrafficStatistics.FormatCount(records.Count)} requests answered by {expectedServer} through {via}");
        ReportFirstFailure(context.Console, records);
        return new PhaseResult(
            title,
            passed,
            passed ? $"resolved through {via}" : $"requests did not reach {expectedServer}",
            $"{TrafficStatistics.FormatCount(answered)}/{TrafficStatistics.FormatCount(records.Count)} answered; {failed} failed");
    }
}
