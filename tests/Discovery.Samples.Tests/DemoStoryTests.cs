using Discovery.Demo.Story;

namespace Discovery.Samples.Tests;

public class DemoStoryTests
{
    [Fact]
    public async Task Every_phase_of_the_demo_passes_on_the_emulator()
    {
        var output = new StringWriter();
        var story = new DemoStory(new DemoConsole(TextWriter.Synchronized(output), keys: null), DemoPacing.ForDuration(TimeSpan.FromSeconds(8)));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(45));

        var report = await story.RunAsync(deadline.Token);

        TestContext.Current.TestOutputHelper?.WriteLine(output.ToString());
        Assert.Equal(DemoStory.Phases.Count, report.Phases.Count);
        Assert.All(report.Phases, phase => Assert.True(phase.Passed, $"{phase.Phase}: {phase.Result} ({phase.Figures})"));
        Assert.Equal(0, report.ExitCode);
        Assert.Contains("All 7 phases behaved.", output.ToString(), StringComparison.Ordinal);
    }
}
