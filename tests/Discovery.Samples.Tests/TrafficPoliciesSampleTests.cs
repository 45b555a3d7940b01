using Discovery.TrafficPolicies;

namespace Discovery.Samples.Tests;

public class TrafficPoliciesSampleTests
{
    [Fact]
    public async Task The_affinity_and_local_policy_sample_behaves_on_the_emulator()
    {
        var output = new StringWriter();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));

        var report = await TrafficPolicyScenario.RunAsync(output, deadline.Token);

        TestContext.Current.TestOutputHelper?.WriteLine(output.ToString());
        Assert.Equal(4, report.Steps.Count);
        Assert.All(report.Steps, step => Assert.True(step.Passed, $"{step.Step}: {step.Detail}"));
        Assert.Contains("Both policies behaved as kube-proxy's.", output.ToString(), StringComparison.Ordinal);
    }
}
