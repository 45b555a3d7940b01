using Discovery.Testing.Tests.Fixtures;

namespace Discovery.Testing.Tests;

/// <summary>Holds the emulator to the transcripts recorded from a real kube-apiserver v1.26 (one case per file).</summary>
public sealed class FixtureFidelityTests(FixtureReplay replay) : IClassFixture<FixtureReplay>
{
    public static TheoryData<string> Transcripts => [.. FixtureReplay.FileNames];

    [Theory]
    [MemberData(nameof(Transcripts))]
    public void Emulator_answers_like_the_recorded_api_server(string transcript)
    {
        var outcome = replay.Outcome(transcript);
        if (outcome.SkipReason is not null)
        {
            Assert.Skip(outcome.SkipReason);
        }

        Assert.True(outcome.Differences.Count == 0, $"{transcript}:\n" + string.Join("\n", outcome.Differences));
    }
}
