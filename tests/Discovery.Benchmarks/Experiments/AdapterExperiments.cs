using System.Diagnostics;
using System.Threading.Channels;
using Discovery.Testing;
using Discovery.Yarp;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using static Discovery.Benchmarks.Experiments.EmulatorExperiments;

namespace Discovery.Benchmarks.Experiments;

/// <summary>Issue #12: the adapters (MESD provider, YARP destination resolver) fed by the core, against the emulator.</summary>
internal static class AdapterExperiments
{
    private const string Service = "alpaca-prod";
    private const string ClusterId = "alpaca";

    /// <summary>
    /// One app holding the core, MESD (with the Kubernetes provider) and a YARP gateway in Kestrel. Each change flips one
    /// endpoint's readiness in the emulator; the time until each consumer shows the new set is taken for the same change.
    /// </summary>
    public static async Task<Report> PropagationAsync(ExperimentArgs args)
    {
        var changes = args.Int("changes", 100);
        var reloadInterval = TimeSpan.FromMilliseconds(args.Int("reload-interval-ms", 250));
        var report = new Report().Columns("consumer", "changes", "p50", "p90", "p99", "max", "goal (p99)", "verdict");
        await using var emulator = await KubernetesApiEmulator.StartAsync();
        string[] addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
        var slice = emulator.ApplyServiceWithEndpoints(EmulatorHost.Namespace, Service, 8080, addresses, withEndpoints: false);
        using var client = (Kubernetes)emulator.CreateClient();

        var recorder = new DestinationRecorder();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Services.AddRouting();
        builder.Services.AddSingleton<IKubernetes>(client);
        builder.Services.AddKubernetesEndpointResolver(o =>
        {
            o.Namespace = EmulatorHost.Namespace;
            o.AddressMode = AddressMode.PodIP;
            o.IdleTimeout = TimeSpan.FromHours(1);
            o.InitialSyncTimeout = TimeSpan.FromMinutes(1);
        });

        // An hour: MESD can see a change within the run only through the provider's change token.
        builder.Services.AddServiceDiscovery(o => o.RefreshPeriod = TimeSpan.FromHours(1));
        builder.Services.AddKubernetesServiceEndpointProvider();
        builder.Services.AddSingleton<IClusterChangeListener>(recorder);
        builder.Services.AddReverseProxy()
            .LoadFromMemory(
                [new RouteConfig { RouteId = "all", ClusterId = ClusterId, Match = new RouteMatch { Path = "{**catch-all}" } }],
                [new ClusterConfig { ClusterId = ClusterId, Destinations = new Dictionary<string, DestinationConfig> { ["alpaca"] = new() { Address = "http://alpaca-prod" } } }])
            .AddKubernetesDestinationResolver(o => o.MinimumReloadInterval = reloadInterval);
        await using var app = builder.Build();
        app.UseRouting();
        app.MapReverseProxy();
        await app.StartAsync();

        var mesd = app.Services.GetRequiredService<ServiceEndpointResolver>();
        var core = app.Services.GetRequiredService<IServiceEndpointResolver>();
        var key = new ServiceKey(EmulatorHost.Namespace, Service);
        if ((await mesd.GetEndpointsAsync("http://" + Service, default)).Endpoints.Count != 3 || recorder.Available != 3)
        {
            throw new InvalidOperationException("The consumers did not start with the three endpoints.");
        }

        var published = Channel.CreateUnbounded<(long Timestamp, int Usable)>();
        using var subscription = core.Subscribe(key, s => published.Writer.TryWrite((Stopwatch.GetTimestamp(), s.UsableEndpoints.Length)));
        List<TimeSpan> coreLatencies = [], mesdLatencies = [], yarpLatencies = [];
        for (var i = -10; i < changes; i++)
        {
            var ready = i % 2 != 0;
            var expected = ready ? 3 : 2;
            var yarpSeen = recorder.Expect(expected);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var started = Stopwatch.GetTimestamp();
            emulator.SetEndpointConditions(EmulatorHost.Namespace, slice.Metadata.Name, addresses[1], ready);

            // MESD is asked the way a caller asks it; its cached answer is one HasChanged read until the token fires.
            long mesdAt;
            while (true)
            {
                var source = await mesd.GetEndpointsAsync("http://" + Service, timeout.Token);
                if (source.Endpoints.Count == expected)
                {
                    mesdAt = Stopwatch.GetTimestamp();
                    break;
                }

                await Task.Yield();
            }

            var yarpAt = await yarpSeen.WaitAsync(timeout.Token);
            long coreAt;
            while (true)
            {
                var (timestamp, usable) = await published.Reader.ReadAsync(timeout.Token);
                if (usable == expected)
                {
                    coreAt = timestamp;
                    break;
                }
            }

            if (i >= 0)
            {
                coreLatencies.Add(Stopwatch.GetElapsedTime(started, coreAt));
                mesdLatencies.Add(Stopwatch.GetElapsedTime(started, mesdAt));
                yarpLatencies.Add(Stopwatch.GetElapsedTime(started, yarpAt));
            }

            // Apart by more than YARP's reload interval, so that each change is measured alone, not coalesced with the last.
            await Task.Delay(reloadInterval + TimeSpan.FromMilliseconds(Random.Shared.Next(20, 40)));
        }

        Row(report, "core snapshot published (reference)", coreLatencies, null);
        Row(report, "MESD: ServiceEndpointResolver.GetEndpointsAsync", mesdLatencies, TimeSpan.FromMilliseconds(10));
        Row(report, "YARP: cluster's available destinations", yarpLatencies, TimeSpan.FromMilliseconds(10));
        report.Note("From the store write (emulator.SetEndpointConditions) through the watch, the core's snapshot, the snapshot's change token, to each consumer. The same change is timed for all three.");
        report.Note("MESD: AddServiceDiscovery() with RefreshPeriod = 1 h plus AddKubernetesServiceEndpointProvider(); a loop calls GetEndpointsAsync (yielding between calls) until it returns the new count.");
        report.Note($"YARP 2.3.0 in Kestrel, LoadFromMemory + AddKubernetesDestinationResolver(MinimumReloadInterval = {reloadInterval.TotalMilliseconds} ms); timestamped by an IClusterChangeListener when the cluster's AvailableDestinations has the new count. Changes are spaced past the interval; a change within it waits for the interval's end.");
        report.Note("10 warm-up changes not counted. Emulator, core, MESD and YARP share the process and its 2 cores.");
        return report;
    }

    private static void Row(Report report, string consumer, List<TimeSpan> latencies, TimeSpan? goal)
    {
        latencies.Sort();
        var p99 = Measure.Percentile(latencies, 99);
        report.Row(consumer, latencies.Count, Measure.Percentile(latencies, 50), Measure.Percentile(latencies, 90), p99, latencies[^1],
            goal is null ? "—" : "<= " + goal.Value.TotalMilliseconds + " ms", goal is null ? "—" : Verdict(p99 <= goal.Value));
    }

    /// <summary>Timestamps the moment YARP's cluster shows a given number of available destinations.</summary>
    private sealed class DestinationRecorder : IClusterChangeListener
    {
        private readonly object _gate = new();
        private (int Count, TaskCompletionSource<long> Seen)? _expected;

        public int Available { get; private set; }

        public Task<long> Expect(int count)
        {
            var seen = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _expected = (count, seen);
            }

            return seen.Task;
        }

        public void OnClusterAdded(ClusterState cluster) => Record(cluster);

        public void OnClusterChanged(ClusterState cluster) => Record(cluster);

        public void OnClusterRemoved(ClusterState cluster)
        {
        }

        private void Record(ClusterState cluster)
        {
            var now = Stopwatch.GetTimestamp();
            var count = cluster.DestinationsState.AvailableDestinations.Count;
            lock (_gate)
            {
                Available = count;
                if (_expected is { } expected && expected.Count == count)
                {
                    expected.Seen.TrySetResult(now);
                    _expected = null;
                }
            }
        }
    }
}
