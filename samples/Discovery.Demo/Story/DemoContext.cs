using System.Diagnostics;
using System.Globalization;
using Discovery.Demo.App;
using Discovery.Demo.Cluster;

namespace Discovery.Demo.Story;

/// <summary>What every phase works with: the cluster, the application, the narrator and the pace.</summary>
public sealed class DemoContext
{
    /// <summary>Creates the context.</summary>
    public DemoContext(LocalCluster cluster, DemoApplication application, DemoConsole console, DemoPacing pacing, ServiceBackend alpaca, ServiceBackend bandicoot, EndpointChangeObserver alpacaChanges)
    {
        Cluster = cluster;
        Application = application;
        Console = console;
        Pacing = pacing;
        Alpaca = alpaca;
        Bandicoot = bandicoot;
        AlpacaChanges = alpacaChanges;
    }

    /// <summary>The URI the application calls alpaca by: the short form, in the default namespace.</summary>
    public static Uri AlpacaUri { get; } = new("http://alpaca-prod/");

    /// <summary>The URI the application calls bandicoot by: the <c>service.namespace</c> form.</summary>
    public static Uri BandicootUri { get; } = new("http://bandicoot-prod.default/");

    /// <summary>The cluster (emulator and pods).</summary>
    public LocalCluster Cluster { get; }

    /// <summary>The application.</summary>
    public DemoApplication Application { get; }

    /// <summary>The narrator.</summary>
    public DemoConsole Console { get; }

    /// <summary>The pace.</summary>
    public DemoPacing Pacing { get; }

    /// <summary>The alpaca-prod Service and its pods.</summary>
    public ServiceBackend Alpaca { get; }

    /// <summary>The bandicoot-prod Service and its pods.</summary>
    public ServiceBackend Bandicoot { get; }

    /// <summary>Snapshots of alpaca-prod as the application's resolver published them.</summary>
    public EndpointChangeObserver AlpacaChanges { get; }

    /// <summary>Starts steady traffic from the application to <paramref name="target"/>.</summary>
    public TrafficGenerator StartTraffic(Uri target) =>
        TrafficGenerator.Start(Application.CreateClient, target, Pacing.Concurrency, Pacing.PauseBetweenRequests);

    /// <summary>Lets traffic flow for <paramref name="duration"/>, printing a live line of per-pod counts every so often.</summary>
    public async Task ShowTrafficAsync(TimeSpan duration, CancellationToken cancellationToken, params TrafficGenerator[] generators)
    {
        ArgumentNullException.ThrowIfNull(generators);
        var started = Stopwatch.GetTimestamp();
        var interval = TimeSpan.FromTicks(Math.Clamp(duration.Ticks / 3, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(1).Ticks));
        var mark = started;
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            var remaining = duration - Stopwatch.GetElapsedTime(started);
            await Task.Delay(remaining < interval ? remaining : interval, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
            var since = mark;
            mark = Stopwatch.GetTimestamp();
            var parts = generators.Select(g =>
            {
                var recent = g.Log.Since(since);
                var pods = string.Join(' ', TrafficStatistics.CountByPod(recent).Select(c => $"{ShortName(c.Pod)}:{c.Count}"));
                var failed = recent.Count(r => !r.Succeeded);
                return $"{g.Target.Host} {pods}{(failed > 0 ? $" FAILED:{failed}" : string.Empty)}";
            });
            Console.Say($"  t+{elapsed}s  {string.Join("  |  ", parts)}");
        }
    }

    /// <summary>The random suffix of a pod name (<c>alpaca-prod-7c9f6-hx2lq</c> → <c>hx2lq</c>), for compact live lines.</summary>
    public static string ShortName(string pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        // Only names shaped like a Deployment's pods (<name>-<env>-<hash>-<id>); other servers keep their names.
        var parts = pod.Split('-');
        return parts.Length >= 4 ? parts[^1] : pod;
    }
}
