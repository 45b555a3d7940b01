using Discovery.Demo;
using Discovery.Demo.App;
using Discovery.Demo.Story;

// The demo's entry point: parse the flags, pick the embedded emulator or a real cluster, run, and turn the
// outcome into the exit code CI checks.
if (!DemoArguments.TryParse(args, out var arguments, out var error))
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(DemoArguments.Usage);
    return 2;
}

if (arguments.ShowHelp)
{
    Console.WriteLine(DemoArguments.Usage);
    return 0;
}

Console.OutputEncoding = System.Text.Encoding.UTF8;
var interactive = !arguments.NonInteractive && arguments.Duration is null && !Console.IsInputRedirected;
var console = new DemoConsole(Console.Out, interactive ? Console.In : null);
var pacing = arguments.Duration is { } duration ? DemoPacing.ForDuration(duration) : DemoPacing.Interactive;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

if (arguments.UsesRealCluster)
{
    var settings = new DemoApplicationSettings { KubeconfigPath = arguments.KubeconfigPath, KubeconfigContext = arguments.Context };
    var run = new ClusterTrafficRun(console, settings, arguments.Duration ?? TimeSpan.FromSeconds(30), pacing);
    try
    {
        return (await run.RunAsync(cancellation.Token)).ExitCode;
    }
    catch (Microsoft.Extensions.Options.OptionsValidationException e)
    {
        // A wrong --kubeconfig or context shows up as Discovery's startup validation: say so, without a stack trace.
        Console.Error.WriteLine(e.Message);
        return 1;
    }
}

// A bounded run also bounds start-up and a stuck phase: whatever is not done by then counts as failed.
if (arguments.Duration is { } limit)
{
    cancellation.CancelAfter(limit + TimeSpan.FromSeconds(30));
}

var kubeconfig = interactive ? Path.Combine(Path.GetTempPath(), "discovery-demo.kubeconfig") : null;
var story = new DemoStory(console, pacing, kubeconfig);
return (await story.RunAsync(cancellation.Token)).ExitCode;
