using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Discovery.Benchmarks.Grpc;
using Discovery.Grpc;
using Discovery.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Benchmarks.Experiments;

/// <summary>Issue #12: <c>kubernetes:</c> channels (Discovery.Grpc) against the emulator and real Grpc.AspNetCore pods, side by side.</summary>
internal static class GrpcExperiments
{
    private const string Namespace = "bench";
    private const string Spread = "grpc-spread";
    private const string Single = "grpc-single";

    public static async Task<Report> RunAsync(ExperimentArgs args)
    {
        var changes = args.Int("changes", 200);
        var calls = args.Int("calls", 4000);
        var overheadCalls = args.Int("overhead-calls", 2000);
        var report = new Report().Columns("measure", "channel", "result", "goal", "verdict");

        await using var emulator = await KubernetesApiEmulator.StartAsync();
        await using var pods = await GrpcPods.StartAsync(4);
        emulator.Apply(EmulatorObjects.Service(Namespace, Spread, EmulatorObjects.ServicePort(50051, "grpc", appProtocol: "kubernetes.io/h2c")));
        emulator.Apply(EmulatorObjects.Service(Namespace, Single, EmulatorObjects.ServicePort(50051, "grpc", appProtocol: "kubernetes.io/h2c")));
        for (var i = 0; i < 4; i++)
        {
            emulator.Apply(Slice(Spread, $"{Spread}-{i}", pods.Addresses[i], pods.Ports[i]));
        }

        emulator.Apply(Slice(Single, $"{Single}-0", pods.Addresses[0], pods.Ports[0]));

        var delivered = System.Threading.Channels.Channel.CreateUnbounded<(long Timestamp, ResolverResult Result)>();
        var services = new ServiceCollection();
        services.AddSingleton(emulator.CreateClient());
        services.AddKubernetesEndpointResolver(o =>
        {
            o.Namespace = Namespace;
            o.AddressMode = AddressMode.PodIP;
            o.IdleTimeout = TimeSpan.FromHours(1);
        });
        services.AddKubernetesGrpcResolver();
        services.AddSingleton<ResolverFactory>(sp => new TimedResolverFactory(sp.GetRequiredService<KubernetesResolverFactory>(), (t, r) => delivered.Writer.TryWrite((t, r))));
        await using var provider = services.BuildServiceProvider();

        // 1. A readiness change in the API -> the channel's picker.
        using (var timed = Channel(provider, $"kubernetes-timed:///{Spread}", roundRobin: true))
        {
            await timed.ConnectAsync();
            var removed = new List<TimeSpan>();
            var added = new List<TimeSpan>();
            var random = new Random(42);
            for (var i = -20; i < changes; i++)
            {
                var ready = i % 2 != 0;
                var started = Stopwatch.GetTimestamp();
                emulator.SetEndpointConditions(Namespace, $"{Spread}-1", pods.Addresses[1], ready);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                while (true)
                {
                    var (timestamp, result) = await delivered.Reader.ReadAsync(timeout.Token);
                    if (result.Addresses?.Count == (ready ? 4 : 3))
                    {
                        if (i >= 0)
                        {
                            (ready ? added : removed).Add(Stopwatch.GetElapsedTime(started, timestamp));
                        }

                        break;
                    }
                }

                await Task.Delay(random.Next(2, 6));
            }

            removed.Sort();
            added.Sort();
            var p99 = Measure.Percentile(removed, 99);
            report.Row("readiness lost -> picker without the pod", "kubernetes:/// round_robin", Percentiles(removed), "p99 <= 10 ms", Verdict(p99 <= TimeSpan.FromMilliseconds(10)));
            report.Row("readiness back -> address list in the channel", "kubernetes:/// round_robin", Percentiles(added), "—", "(its calls start once the connection is up)");
        }

        // 2. Shares of unary calls over four equal pods.
        using (var spread = Channel(provider, $"kubernetes:///{Spread}", roundRobin: true))
        {
            await spread.ConnectAsync();
            var client = new BenchPod.BenchPodClient(spread);
            await UntilAllAnsweredAsync(client, 4);
            var shares = await CountAsync(client, pods, calls);
            report.Row($"shares of {calls:N0} unary calls, 8 at a time", "kubernetes:/// round_robin", Shares(shares), "max/min <= 1.2", Verdict(Ratio(shares) <= 1.2));
        }

        await using (var clusterIp = new TcpForwarder(IPAddress.Parse("127.0.2.100"), [.. pods.Addresses.Select((a, i) => new IPEndPoint(IPAddress.Parse(a), pods.Ports[i]))]))
        {
            using var pinned = GrpcChannel.ForAddress($"http://{clusterIp.EndPoint}");
            var shares = await CountAsync(new BenchPod.BenchPodClient(pinned), pods, calls);
            report.Row($"shares of {calls:N0} unary calls, 8 at a time", "one connection through a cluster-IP-like forwarder", Shares(shares), "(the problem)", $"{shares.Max() * 100.0 / shares.Sum():0.#} % on one pod");
        }

        // 3. Unary call cost: kubernetes:/// vs the pod's own address, same pod, same balancer (pick_first), rounds interleaved.
        using (var direct = GrpcChannel.ForAddress($"http://{pods.Addresses[0]}:{pods.Ports[0]}"))
        using (var resolved = Channel(provider, $"kubernetes:///{Single}", roundRobin: false))
        {
            var directClient = new BenchPod.BenchPodClient(direct);
            var resolvedClient = new BenchPod.BenchPodClient(resolved);
            await TimeCallsAsync(directClient, 1000);
            await TimeCallsAsync(resolvedClient, 1000);
            var directTimes = new List<TimeSpan>();
            var resolvedTimes = new List<TimeSpan>();
            for (var round = 0; round < 5; round++)
            {
                directTimes.AddRange(await TimeCallsAsync(directClient, overheadCalls));
                resolvedTimes.AddRange(await TimeCallsAsync(resolvedClient, overheadCalls));
            }

            directTimes.Sort();
            resolvedTimes.Sort();
            var directMean = directTimes.Average(t => t.TotalMicroseconds);
            var resolvedMean = resolvedTimes.Average(t => t.TotalMicroseconds);
            report.Row($"unary call, sequential ({directTimes.Count:N0} calls)", "static address http://pod:port (pick_first)", Micros(directTimes, directMean), "—", "baseline");
            report.Row($"unary call, sequential ({resolvedTimes.Count:N0} calls)", "kubernetes:/// (pick_first)", Micros(resolvedTimes, resolvedMean), "—",
                string.Create(CultureInfo.InvariantCulture, $"{resolvedMean - directMean:+0.0;-0.0} µs mean ({(resolvedMean / directMean) - 1:+0.0%;-0.0%})"));
        }

        report.Note("Pods: 4 Grpc.AspNetCore servers (h2c) on 127.0.2.1-4, one EndpointSlice each, in the emulator; the client is the stock GrpcChannel (grpc-dotnet 2.85) with Discovery.Grpc's resolver, all in one process on the machine's 2 cores.");
        report.Note($"Change -> picker: {changes} readiness flips of one pod (alternating, 2-6 ms apart, 20 warm-up flips not counted), from the write to the emulator's store to the moment grpc-dotnet's listener call returned with the new address list (its balancer replaces the picker inside that call; a removed pod is out of it then). The path: emulator watch stream, stock KubernetesClient, informer, snapshot, subscription, the resolver's publishing task, grpc-dotnet's balancer.");
        report.Note("Shares: round_robin counted after every pod had answered once (a subchannel takes calls once connected). The cluster-IP stand-in is a TCP forwarder picking a pod per connection, as kube-proxy does; a GrpcChannel keeps one HTTP/2 connection.");
        report.Note("Call cost: both channels use grpc-dotnet's balancer over one pod; the difference is the resolver (and the :authority header it sets). Rounds of the two channels interleaved, 1,000 warm-up calls each.");
        return report;
    }

    private static V1EndpointSlice Slice(string service, string name, string address, int port)
    {
        var endpoint = EmulatorObjects.Endpoint(address);
        endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = name, NamespaceProperty = Namespace };
        return EmulatorObjects.EndpointSlice(Namespace, service, name, "IPv4", [endpoint], EmulatorObjects.SlicePort(port, "grpc", appProtocol: "kubernetes.io/h2c"));
    }

    private static GrpcChannel Channel(IServiceProvider provider, string address, bool roundRobin) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        Credentials = ChannelCredentials.Insecure,
        ServiceProvider = provider,
        ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { roundRobin ? new RoundRobinConfig() : new PickFirstConfig() } },
    });

    private static async Task UntilAllAnsweredAsync(BenchPod.BenchPodClient client, int pods)
    {
        var seen = new HashSet<int>();
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (seen.Count < pods && Stopwatch.GetTimestamp() < deadline)
        {
            seen.Add((await client.WhoAsync(new WhoRequest())).Pod);
        }
    }

    private static async Task<long[]> CountAsync(BenchPod.BenchPodClient client, GrpcPods pods, int calls)
    {
        var before = Enumerable.Range(0, 4).Select(pods.Calls).ToArray();
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            for (var i = 0; i < calls / 8; i++)
            {
                await client.WhoAsync(new WhoRequest());
            }
        });
        await Task.WhenAll(workers);
        return [.. Enumerable.Range(0, 4).Select(i => pods.Calls(i) - before[i])];
    }

    private static async Task<List<TimeSpan>> TimeCallsAsync(BenchPod.BenchPodClient client, int count)
    {
        var times = new List<TimeSpan>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await client.WhoAsync(new WhoRequest());
            times.Add(Stopwatch.GetElapsedTime(started));
        }

        return times;
    }

    private static string Percentiles(List<TimeSpan> sorted) => string.Create(CultureInfo.InvariantCulture,
        $"n={sorted.Count}: p50 {Measure.Percentile(sorted, 50).TotalMilliseconds:0.00} ms, p90 {Measure.Percentile(sorted, 90).TotalMilliseconds:0.00} ms, p99 {Measure.Percentile(sorted, 99).TotalMilliseconds:0.00} ms, max {sorted[^1].TotalMilliseconds:0.00} ms");

    private static string Micros(List<TimeSpan> sorted, double mean) => string.Create(CultureInfo.InvariantCulture,
        $"mean {mean:0.0} µs, p50 {Measure.Percentile(sorted, 50).TotalMicroseconds:0.0} µs, p99 {Measure.Percentile(sorted, 99).TotalMicroseconds:0.0} µs");

    private static string Shares(long[] counts)
    {
        var total = (double)counts.Sum();
        return string.Join(" / ", counts.Select(c => (c * 100.0 / total).ToString("0.0", CultureInfo.InvariantCulture) + " %"))
            + string.Create(CultureInfo.InvariantCulture, $" (max/min {(counts.Min() == 0 ? "∞" : ((double)counts.Max() / counts.Min()).ToString("0.00", CultureInfo.InvariantCulture))})");
    }

    private static double Ratio(long[] counts) => counts.Min() == 0 ? double.PositiveInfinity : (double)counts.Max() / counts.Min();

    private static string Verdict(bool met) => met ? "met" : "NOT met";
}
