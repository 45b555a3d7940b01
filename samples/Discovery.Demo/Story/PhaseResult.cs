namespace Discovery.Demo.Story;

/// <summary>How one phase of the story went.</summary>
/// <param name="Phase">The phase's title.</param>
/// <param name="Passed">Whether discovery behaved as it should.</param>
/// <param name="Result">One line saying what happened.</param>
/// <param name="Figures">The measured figures (counts, milliseconds).</param>
public sealed record PhaseResult(string Phase, bool Passed, string Result, string Figures);
