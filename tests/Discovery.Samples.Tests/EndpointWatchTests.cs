using Discovery.EndpointWatch;

namespace Discovery.Samples.Tests;

public class EndpointWatchTests
{
    [Fact]
    public async Task Emulator_mode_prints_the_initial_set_and_each_change()
    {
        Assert.True(WatchArguments.TryParse(["--emulator", "--interval", "0"], out var arguments, out var error), error);
        var output = new StringWriter();
        var errors = new StringWriter();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));

        var exitCode = await EndpointWatchCommand.RunAsync(arguments, output, errors, deadline.Token);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        TestContext.Current.TestOutputHelper?.WriteLine(output.ToString());
        Assert.True(exitCode == 0, errors.ToString());
        Assert.StartsWith("NAME", lines[0], StringComparison.Ordinal);
        Assert.Contains("ENDPOINTS", lines[0], StringComparison.Ordinal);
        Assert.Contains("READY", lines[0], StringComparison.Ordinal);

        var initial = lines[1];
        Assert.StartsWith("alpaca-prod", initial, StringComparison.Ordinal);
        Assert.Contains("127.0.0.11:8080,127.0.0.12:8080,127.0.0.13:8080", initial, StringComparison.Ordinal);
        Assert.Contains("3/3", initial, StringComparison.Ordinal);
        Assert.Contains("initial list", initial, StringComparison.Ordinal);

        var notReady = lines[2];
        Assert.Contains("127.0.0.11:8080,127.0.0.13:8080", notReady, StringComparison.Ordinal);
        Assert.Contains("2/3", notReady, StringComparison.Ordinal);
        Assert.Contains("127.0.0.12 (alpaca-prod-7c9f6-m4v8r) ready→not-ready", notReady, StringComparison.Ordinal);

        Assert.Equal(1 + EmulatorScenario.LineCount, lines.Length);
        Assert.Contains(lines, line => line.Contains("+127.0.0.14", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("-127.0.0.11", StringComparison.Ordinal));
    }
}
