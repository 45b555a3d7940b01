namespace Discovery.Demo.Story;

/// <summary>One chapter of the story: it changes something in the cluster, lets traffic flow and judges the outcome.</summary>
public interface IDemoPhase
{
    /// <summary>The title shown in the heading and the summary table.</summary>
    string Title { get; }

    /// <summary>Runs the phase.</summary>
    Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken);
}
