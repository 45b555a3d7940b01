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

    [Fact]
    public void A_snapshot_that_changes_nothing_shown_is_not_a_new_line()
    {
        var endpoint = new ServiceEndpoint("127.0.0.11", System.Net.Sockets.AddressFamily.InterNetwork, [new EndpointPort("http", 8080, "TCP", null)], isReady: true, isServing: true, isTerminating: false, podName: "alpaca-prod-7c9f6-hx2lq");
        var first = Snapshot(1, endpoint);
        var table = new EndpointTable("alpaca-prod");
        Assert.True(table.ShowsChange(first));
        table.Format(first, TimeSpan.Zero);

        Assert.False(table.ShowsChange(Snapshot(2, endpoint)));
        var notReady = new ServiceEndpoint("127.0.0.11", System.Net.Sockets.AddressFamily.InterNetwork, endpoint.Ports, isReady: false, isServing: false, isTerminating: false, podName: endpoint.PodName);
        Assert.True(table.ShowsChange(Snapshot(3, notReady)));
        Assert.Contains("127.0.0.11 (alpaca-prod-7c9f6-hx2lq) ready→not-ready", table.Format(Snapshot(3, notReady), TimeSpan.FromSeconds(2)), StringComparison.Ordinal);
    }

    private static ServiceEndpointSnapshot Snapshot(long version, params ServiceEndpoint[] endpoints) =>
        new(new ServiceKey("default", "alpaca-prod"), serviceExists: true, serviceInfo: null, EndpointSourceKind.EndpointSlices, [.. endpoints], version, null, DateTimeOffset.UnixEpoch);
}
