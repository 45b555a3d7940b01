using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Discovery.Testing.Tests;

/// <summary>kubectl against the emulator through the kubeconfig it writes.</summary>
public sealed class KubectlTests
{
    private static bool KubectlAvailable => File.Exists("/usr/bin/kubectl") || File.Exists("/usr/local/bin/kubectl");

    [Fact]
    public async Task Kubectl_gets_endpoint_slices_as_json()
    {
        Assert.SkipUnless(KubectlAvailable, "kubectl is not installed");
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
        var kubeconfig = emulator.WriteKubeconfig(Path.Combine(Path.GetTempPath(), $"emulator-{Guid.NewGuid():N}", "config"));
        try
        {
            var (exitCode, output, error) = await RunAsync(kubeconfig, "get", "endpointslices", "-n", "demo", "-o", "json");

            Assert.True(exitCode == 0, error);
            var list = JsonNode.Parse(output)!;
            var item = Assert.Single(list["items"]!.AsArray());
            Assert.Equal("alpaca-prod-emulated", item!["metadata"]!["name"]!.GetValue<string>());
            Assert.Equal(3, item["endpoints"]!.AsArray().Count);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(kubeconfig)!, recursive: true);
        }
    }

    [Fact]
    public async Task Kubectl_creates_and_deletes_from_a_manifest()
    {
        Assert.SkipUnless(KubectlAvailable, "kubectl is not installed");
        await using var emulator = await TestEmulator.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), $"emulator-{Guid.NewGuid():N}");
        var kubeconfig = emulator.WriteKubeconfig(Path.Combine(directory, "config"));
        var manifest = Path.Combine(directory, "slice.json");
        await File.WriteAllTextAsync(manifest, k8s.KubernetesJson.Serialize(EmulatorObjects.EndpointSlice("default", "alpaca-prod", "alpaca-prod-x", 8080, "http", ["10.1.0.1"])), TestContext.Current.CancellationToken);
        try
        {
            var (created, createOutput, createError) = await RunAsync(kubeconfig, "create", "-f", manifest);
            Assert.True(created == 0, createError);
            Assert.Contains("alpaca-prod-x created", createOutput, StringComparison.Ordinal);
            Assert.NotNull(emulator.Get<k8s.Models.V1EndpointSlice>("default", "alpaca-prod-x"));

            var (labelled, _, labelError) = await RunAsync(kubeconfig, "label", "endpointslice", "alpaca-prod-x", "tier=backend");
            Assert.True(labelled == 0, labelError);
            Assert.Equal("backend", emulator.Get<k8s.Models.V1EndpointSlice>("default", "alpaca-prod-x")!.Metadata.Labels["tier"]);

            var (deleted, _, deleteError) = await RunAsync(kubeconfig, "delete", "endpointslice", "alpaca-prod-x");
            Assert.True(deleted == 0, deleteError);
            Assert.Null(emulator.Get<k8s.Models.V1EndpointSlice>("default", "alpaca-prod-x"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Kubectl_watch_prints_a_change_to_endpoints()
    {
        Assert.SkipUnless(KubectlAvailable, "kubectl is not installed");
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["127.0.0.2"]);
        var kubeconfig = emulator.WriteKubeconfig(Path.Combine(Path.GetTempPath(), $"emulator-{Guid.NewGuid():N}", "config"));
        var start = new ProcessStartInfo("kubectl", ["--kubeconfig", kubeconfig, "get", "endpoints", "-n", "demo", "--watch", "--output-watch-events"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        using var deadline = TestEmulator.Deadline(TimeSpan.FromSeconds(30));
        try
        {
            var lines = new List<string>();
            async Task<string> NextLineAsync()
            {
                var line = await process.StandardOutput.ReadLineAsync(deadline.Token) ?? throw new EndOfStreamException(await process.StandardError.ReadToEndAsync(deadline.Token));
                lines.Add(line);
                return line;
            }

            Assert.StartsWith("EVENT", await NextLineAsync(), StringComparison.Ordinal);
            Assert.Matches(@"^ADDED\s+alpaca-prod\s", await NextLineAsync());
            await emulator.WaitForRequestAsync(r => r.IsWatch && r.Path == "/api/v1/namespaces/demo/endpoints", TimeSpan.FromSeconds(10), deadline.Token);

            emulator.Apply(EmulatorObjects.Endpoints("demo", "alpaca-prod", ["127.0.0.2", "127.0.0.3"], null, EmulatorObjects.EndpointsPort(8080, "http")));

            Assert.Matches(@"^MODIFIED\s+alpaca-prod\s", await NextLineAsync());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(Path.GetDirectoryName(kubeconfig)!, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string kubeconfig, params string[] arguments)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--kubeconfig");
        start.ArgumentList.Add(kubeconfig);
        start.ArgumentList.Add("--request-timeout=10s");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var deadline = TestEmulator.Deadline(TimeSpan.FromSeconds(30));
        var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var error = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await output, await error);
    }
}
