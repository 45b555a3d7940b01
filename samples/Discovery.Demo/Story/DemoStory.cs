using System.Diagnostics;
using Discovery.Demo.App;
using Discovery.Demo.Cluster;
using Discovery.Demo.Phases;

namespace Discovery.Demo.Story;

/// <summary>
/// The whole demo on the embedded emulator: set the scene (two Services and their pods), start the application,
/// run the phases in order, and summarise. Tests call <see cref="RunAsync"/> directly.
/// </summary>
public sealed class DemoStory
{
    private const string Namespace = "default";

    private readonly DemoConsole _console;
    private readonly DemoPacing _pacing;
    private readonly string? _kubeconfigPath;

    /// <summary>Creates the story.</summary>
    /// <param name="console">The narrator.</param>
    /// <param name="pacing">How long each phase lets traffic flow.</param>
    /// <param name="kubeconfigPath">Where to write a kubeconfig for the emulator, so kubectl can look at it during the run; <see langword="null"/> for none.</param>
    public DemoStory(DemoConsole console, DemoPacing pacing, string? kubeconfigPath = null)
    {
        _console = console;
        _pacing = pacing;
        _kubeconfigPath = kubeconfigPath;
    }

    /// <summary>The phases, in the order they run.</summary>
    public static IReadOnlyList<IDemoPhase> Phases { get; } =
    [
        new EvenSpreadPhase(),
        new ReadinessPhase(),
        new ScaleUpPhase(),
        new PodDeletionPhase(),
        new SelectorlessServicePhase(),
        new ExternalNamePhase(),
        new GrpcPinningPhase(),
    ];

    /// <summary>Runs the story; when <paramref name="cancellationToken"/> fires, the phases not yet done count as failed.</summary>
    public async Task<DemoReport> RunAsync(CancellationToken cancellationToken)
    {
        _console.Heading("Discovery demo: Kubernetes service discovery inside HttpClient");
        _console.Say("Starting the Kubernetes API emulator, the backend pods and the application…");

        await using var cluster = await LocalCluster.StartAsync(cancellationToken);
        var alpaca = await cluster.DeployAsync(Namespace, "alpaca-prod", 8080,
            [("alpaca-prod-7c9f6-hx2lq", "127.0.0.11"), ("alpaca-prod-7c9f6-m4v8r", "127.0.0.12"), ("alpaca-prod-7c9f6-t9z5k", "127.0.0.13")],
            cancellationToken);
        var bandicoot = await cluster.DeployAsync(Namespace, "bandicoot-prod", 80,
            [("bandicoot-prod-5d8b4-q8f2c", "127.0.0.21"), ("bandicoot-prod-5d8b4-w6j3p", "127.0.0.22")],
            cancellationToken);
        if (_kubeconfigPath is not null)
        {
            cluster.Emulator.WriteKubeconfig(_kubeconfigPath);
            _console.Say($"Look at the emulator with kubectl meanwhile: kubectl --kubeconfig {_kubeconfigPath} get endpointslices -w");
        }

        await using var application = await DemoApplication.StartAsync(
            new DemoApplicationSettings { ApiClient = cluster.CreateClient(), Namespace = Namespace, ConnectToPodIPs = true },
            cancellationToken);
        using var alpacaChanges = new EndpointChangeObserver(application.Resolver, new ServiceKey(Namespace, alpaca.ServiceName));
        await ShowInitialSyncAsync(application, alpaca, cancellationToken);
        await ShowInitialSyncAsync(application, bandicoot, cancellationToken);

        var context = new DemoContext(cluster, application, _console, _pacing, alpaca, bandicoot, alpacaChanges);
        await WarmUpAsync(context, cancellationToken);
        var results = new List<PhaseResult>();
        foreach (var phase in Phases)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                results.Add(new PhaseResult(phase.Title, false, "not run: out of time", "—"));
                continue;
            }

            results.Add(await RunPhaseAsync(phase, context, cancellationToken));
        }

        var report = new DemoReport(results);
        ShowSummary(report);
        return report;
    }

    private async Task<PhaseResult> RunPhaseAsync(IDemoPhase phase, DemoContext context, CancellationToken cancellationToken)
    {
        try
        {
            await _console.PauseAsync(phase.Title, cancellationToken);
            _console.Heading(phase.Title);
            return await phase.RunAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _console.Report(false, "stopped: the run's time was up");
            return new PhaseResult(phase.Title, false, "stopped: out of time", "—");
        }
        catch (Exception ex)
        {
            // A phase that throws is a failed phase; the story goes on so the summary shows everything.
            _console.Report(false, $"{ex.GetType().Name}: {ex.Message}");
            return new PhaseResult(phase.Title, false, "error: " + ex.GetType().Name, ex.Message);
        }
    }

    // The first change a process handles runs through code the JIT has not compiled yet (watch event parsing,
    // snapshot rebuild, balancer rebuild) and costs tens of milliseconds once. Flip a bandicoot pod's readiness
    // back and forth, with requests in between, so the figures the phases show are those of a running app.
    private async Task WarmUpAsync(DemoContext context, CancellationToken cancellationToken)
    {
        _console.Say("Warming up: one readiness flip on bandicoot-prod, so the figures below are those of a warm process.");
        var pod = context.Bandicoot.Pods[^1];
        var service = new ServiceKey(context.Bandicoot.Namespace, context.Bandicoot.ServiceName);
        using var changes = new EndpointChangeObserver(context.Application.Resolver, service);
        var client = context.Application.CreateClient();
        foreach (var state in new[] { EndpointState.NotReady, EndpointState.Healthy })
        {
            var changedAt = await context.Cluster.SetEndpointStateAsync(context.Bandicoot, pod, state, cancellationToken);
            await changes.WaitForAsync(s => s.UsableEndpoints.Any(e => e.Address == pod.Address) == state.Ready, changedAt, _pacing.ChangeTimeout, cancellationToken);
            for (var i = 0; i < 10; i++)
            {
                await client.GetPodNameAsync(DemoContext.BandicootUri, cancellationToken);
            }
        }
    }

    private async Task ShowInitialSyncAsync(DemoApplication application, ServiceBackend backend, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var snapshot = await application.Resolver.GetSnapshotAsync(new ServiceKey(backend.Namespace, backend.ServiceName), cancellationToken);
        var elapsed = TrafficStatistics.FormatMilliseconds(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _console.Say($"{backend.ServiceName}: {snapshot.ReadyCount} ready endpoints from {snapshot.Source}, listed in {elapsed}: "
            + string.Join(", ", snapshot.UsableEndpoints.Select(e => e.ToString())));
    }

    private void ShowSummary(DemoReport report)
    {
        _console.Heading("Summary");
        _console.Table(
            ["PHASE", "STATUS", "RESULT", "FIGURES"],
            [.. report.Phases.Select(p => (IReadOnlyList<string>)[p.Phase, p.Passed ? "PASS" : "FAIL", p.Result, p.Figures])]);
        _console.Blank();
        var failed = report.Phases.Count(p => !p.Passed);
        _console.Report(report.AllPassed, report.AllPassed ? $"All {report.Phases.Count} phases behaved." : $"{failed} of {report.Phases.Count} phases did not behave.");
    }
}
