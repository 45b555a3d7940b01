namespace Discovery.Testing.Tests.Fixtures;

/// <summary>What replaying one transcript showed: differences from the recording, or why it was not replayed.</summary>
internal sealed record FixtureOutcome(IReadOnlyList<string> Differences, string? SkipReason = null);
