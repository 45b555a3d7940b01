namespace Discovery.TrafficPolicies;

/// <summary>What each step of <see cref="TrafficPolicyScenario"/> showed.</summary>
public sealed class ScenarioReport
{
    private readonly List<(string Step, bool Passed, string Detail)> _steps = [];

    /// <summary>Each step: what it expected, whether that happened, and what was seen.</summary>
    public IReadOnlyList<(string Step, bool Passed, string Detail)> Steps => _steps;

    /// <summary>Whether every step behaved.</summary>
    public bool AllPassed => _steps.Count > 0 && _steps.TrueForAll(s => s.Passed);

    internal void Add(TextWriter output, string step, bool passed, string detail)
    {
        _steps.Add((step, passed, detail));
        output.WriteLine($"{(passed ? "ok  " : "FAIL")} {step}: {detail}");
    }
}
