using Discovery.Demo;

namespace Discovery.Samples.Tests;

public class DemoArgumentsTests
{
    [Fact]
    public void No_arguments_run_the_embedded_emulator_interactively()
    {
        Assert.True(DemoArguments.TryParse([], out var arguments, out _));
        Assert.False(arguments.UsesRealCluster);
        Assert.False(arguments.NonInteractive);
        Assert.Null(arguments.Duration);
    }

    [Theory]
    [InlineData("30", 30)]
    [InlineData("2.5", 2.5)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    public void Duration_accepts_seconds_and_kubernetes_style_units(string text, double seconds)
    {
        Assert.True(DemoArguments.TryParse(["--duration", text, "--non-interactive"], out var arguments, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), arguments.Duration);
        Assert.True(arguments.NonInteractive);
    }

    [Fact]
    public void Kubeconfig_and_context_select_a_real_cluster()
    {
        Assert.True(DemoArguments.TryParse(["--kubeconfig", "/tmp/k", "--context", "kind-kind"], out var arguments, out _));
        Assert.True(arguments.UsesRealCluster);
        Assert.Equal("/tmp/k", arguments.KubeconfigPath);
        Assert.Equal("kind-kind", arguments.Context);
    }

    [Theory]
    [InlineData("--duration")]
    [InlineData("--duration", "-3")]
    [InlineData("--kubeconfig")]
    [InlineData("--bogus")]
    [InlineData("--in-cluster", "--context", "x")]
    public void Bad_command_lines_are_refused_with_a_message(params string[] args)
    {
        Assert.False(DemoArguments.TryParse(args, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Theory]
    [InlineData("alpaca-prod-7c9f6-hx2lq", "alpaca-prod-7c9f6-hx2lq")]
    [InlineData("Hostname: alpaca-prod-6b8f7c5d9-x2m4q\nIP: 127.0.0.1\nIP: 10.244.0.7\n", "alpaca-prod-6b8f7c5d9-x2m4q")]
    public void The_pod_name_is_read_from_either_backend(string body, string pod) =>
        Assert.Equal(pod, Discovery.Demo.App.PodNameClient.ReadPodName(body));
}
