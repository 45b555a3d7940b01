namespace Discovery.Demo.Story;

/// <summary>The outcome of a whole run: one result per phase.</summary>
public sealed record DemoReport(IReadOnlyList<PhaseResult> Phases)
{
    /// <summary>Whether every phase passed (and there was at least one).</summary>
    public bool AllPassed => Phases.Count > 0 && Phases.All(p => p.Passed);

    /// <summary>The process exit code: 0 when every phase behaved, 1 otherwise.</summary>
    public int ExitCode => AllPassed ? 0 : 1;
}
