using System.Diagnostics;
using Discovery.Http;
using Discovery.Testing;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Benchmarks.Experiments;

/// <summary>
/// Issue #14: a new pod's share of requests, second by second over its first slow-start window, with slow start and without
/// it, in one run: two clients of one application send at the same time to the same Service while the fourth pod joins.
/// </summary>
internal static class SlowStartExperiment
{
    private const string Service = "alpaca-prod";

    public static async Task<Report> RunAsync(ExperimentArgs args)
    {
        var windowSeconds = args.Int("window", 10);
        var concurrency = args.Int("concurrency", 4);
        var seconds = windowSeconds + 3;
        await using var backends = await Backends.StartAsync(4, _ => TimeSpan.Zero);
        await using var emulator = await KubernetesApiEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("default", Service, backends.Port, backends.Addresses.Take(3), withEndpoints: false);
        var recorders = new Dictionary<string, TargetRecorder> { ["slow-start"] = new(), ["plain"] = new() };
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton<IKubernetes>(emulator.CreateClient());
        services.AddKubernetesDiscovery(o => o.Namespace = "default");
        services.AddHttpClient("slow-start").ConfigurePrimaryHttpMessageHandler(() => recorders["slow-start"]).AddKubernetesDiscovery(o => o.SlowStartWindow = TimeSpan.FromSeconds(windowSeconds));
        services.AddHttpClient("plain").ConfigurePrimaryHttpMessageHandler(() => recorders["plain"]);
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();
        var uri = new Uri($"http://{Service}/api/items");

        // Both clients first send while three pods are there: those are not slowed.
        foreach (var name in recorders.Keys)
        {
            var client = factory.CreateClient(name);
            for (var i = 0; i < 30; i++)
            {
                using var response = await client.GetAsync(uri);
                response.EnsureSuccessStatusCode();
            }
        }

        var newPod = backends.Addresses[3];
        emulator.ApplyServiceWithEndpoints("default", Service, backends.Port, backends.Addresses, withEndpoints: false);
        var resolver = provider.GetRequiredService<IServiceEndpointResolver>();
        while (!resolver.TryGetSnapshot(new ServiceKey("default", Service), out var snapshot) || snapshot.ReadyCount < 4)
        {
            await Task.Delay(1);
        }

        var started = Stopwatch.GetTimestamp();
        foreach (var recorder in recorders.Values)
        {
            recorder.Start(started, seconds, newPod);
        }

        var deadline = started + (long)(seconds * (double)Stopwatch.Frequency);
        await Task.WhenAll(recorders.Keys.SelectMany(name => Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var client = factory.CreateClient(name);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                using var response = await client.GetAsync(uri);
                response.EnsureSuccessStatusCode();
            }
        }))));

        var report = new Report().Columns("second after the pod joined", "new pod's share, slow start", "requests (slow start)", "new pod's share, no slow start", "requests (no slow start)", "slow start's target share");
        var slow = recorders["slow-start"];
        var plain = recorders["plain"];
        for (var s = 0; s < seconds; s++)
        {
            // The weight at the middle of the second, times the fair share of one pod in four.
            var weight = Math.Clamp((s + 0.5) / windowSeconds, 0.1, 1.0);
            report.Row($"{s}–{s + 1} s", Percent(slow.Share(s)), slow.Total(s), Percent(plain.Share(s)), plain.Total(s), Percent(weight * 0.25));
        }

        report.Note($"4 Kestrel backends on 127.0.0.2-5 (same port); the fourth joins the Service's EndpointSlice after both clients have sent 30 requests to the first three. Two IHttpClientFactory clients of one application, default policy (power of two choices), {concurrency} concurrent GETs each, for {seconds} s from the moment the snapshot holds the fourth pod; one with Discovery:Http:SlowStartWindow = {windowSeconds} s, one without. Share = requests the new pod answered / requests the client sent in that second (counted at the primary handler, where the URI names the pod).");
        report.Note("Slow start's target share: the fair share (25 %) times the linear weight (10 % at the start, 100 % at the end of the window). Power of two choices also favours an idle new pod, so without slow start its share starts at or above 25 %.");
        return report;
    }

    private static string Percent(double share) => double.IsNaN(share) ? "—" : $"{share * 100:0.0} %";

    /// <summary>The primary handler of one client: counts requests per second, and those to the new pod.</summary>
    private sealed class TargetRecorder : DelegatingHandler
    {
        private long _started;
        private long[] _total = [];
        private long[] _toNew = [];
        private string? _newPod;

        public TargetRecorder()
            : base(new SocketsHttpHandler())
        {
        }

        public void Start(long started, int seconds, string newPod)
        {
            _total = new long[seconds];
            _toNew = new long[seconds];
            _newPod = newPod;
            Volatile.Write(ref _started, started);
        }

        public double Share(int second) => _total[second] == 0 ? double.NaN : (double)_toNew[second] / _total[second];

        public long Total(int second) => _total[second];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var host = request.RequestUri!.Host;
            var response = await base.SendAsync(request, cancellationToken);
            var started = Volatile.Read(ref _started);
            if (started != 0)
            {
                var second = (int)Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (second < _total.Length)
                {
                    Interlocked.Increment(ref _total[second]);
                    if (host == _newPod)
                    {
                        Interlocked.Increment(ref _toNew[second]);
                    }
                }
            }

            return response;
        }
    }
}
