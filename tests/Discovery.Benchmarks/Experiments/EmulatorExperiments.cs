using System.Diagnostics;
using System.Globalization;
using Discovery.Testing;
using k8s;
using k8s.Models;

namespace Discovery.Benchmarks.Experiments;

/// <summary>Issue #2: the emulator measured through the stock KubernetesClient.</summary>
internal static class EmulatorExperiments
{
    private const string Service = "alpaca-prod";
    private static readonly string[] Addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Replay: N events written first (retained window large enough), then one watch from the older resourceVersion receives
    /// them as fast as the server streams and the client parses. Live: a writer modifies the slice while the watch is open.
    /// </summary>
    public static async Task<Report> WatchThroughputAsync(ExperimentArgs args)
    {
        var events = args.Int("events", 50_000);
        var report = new Report().Columns("mode", "events", "write time (store)", "delivery time", "events/s delivered", "goal", "verdict");
        await using var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions { RetainedEvents = events + 1000 });
        var slice = emulator.ApplyServiceWithEndpoints(EmulatorHost.Namespace, Service, 8080, Addresses, withEndpoints: false);
        using var client = (Kubernetes)emulator.CreateClient();

        // Warm the client and server paths (JIT, connection) with a short replay.
        await WriteToggles(emulator, slice.Metadata.Name, 200);
        await ReadAsync(client, slice.Metadata.ResourceVersion, 200);

        // Replay.
        var from = emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);
        var writeTime = await WriteToggles(emulator, slice.Metadata.Name, events);
        var replay = await ReadAsync(client, from, events);
        report.Row("replay (backlog)", events, writeTime, replay, events / replay.TotalSeconds, ">= 20,000/s", Verdict(events / replay.TotalSeconds >= 20_000));

        // Stalled: the watch is open and streaming, the server holds back N events, then sends them at once (neither the
        // store's write rate nor the replay of retained events is in the way).
        from = emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);
        var stalledReading = ReadAsync(client, from, events);
        await emulator.WaitForOpenWatchesAsync(1);
        emulator.Faults.StallWatches();
        await WriteToggles(emulator, slice.Metadata.Name, events);
        var resumed = Stopwatch.GetTimestamp();
        emulator.Faults.ResumeWatches();
        await stalledReading;
        var stalled = Stopwatch.GetElapsedTime(resumed);
        report.Row("open watch, stalled then resumed", events, "(before resume)", stalled, events / stalled.TotalSeconds, ">= 20,000/s", Verdict(events / stalled.TotalSeconds >= 20_000));

        // Live: the writer runs while the watch reads.
        from = emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);
        var reading = ReadAsync(client, from, events);
        await emulator.WaitForOpenWatchesAsync(1);
        var started = Stopwatch.GetTimestamp();
        var liveWrite = await Task.Run(() => WriteToggles(emulator, slice.Metadata.Name, events));
        await reading;
        var live = Stopwatch.GetElapsedTime(started);
        report.Row("live (writer concurrent)", events, liveWrite, live, events / live.TotalSeconds, ">= 20,000/s", Verdict(events / live.TotalSeconds >= 20_000));
        report.Note("Each event is a MODIFIED EndpointSlice with 3 endpoints (~1 KB of JSON), toggling one endpoint's ready condition through the emulator's store API.");
        report.Note("Stalled delivery time runs from resuming the held-back stream to the last event parsed: the server's streaming plus the client's parsing only.");
        report.Note("Replay delivery time runs from the watch call to the last event parsed by the stock client's IAsyncEnumerable; live delivery time from the first write to the last event received (it includes the writer, so it is bounded by the store's write rate).");
        report.Note("Server and client share the process and its 2 cores.");
        return report;
    }

    /// <summary>1,000 watches held on an emulator in a child process: time to open, memory on both sides, one event to all.</summary>
    public static async Task<Report> ManyWatchesAsync(ExperimentArgs args)
    {
        var count = args.Int("watches", 1000);
        var report = new Report().Columns("measure", "value");
        await using var child = await ChildEmulator.StartAsync();
        await child.SendAsync("populate 1 3");
        var service = EmulatorHost.ServiceName(0);
        using var client = child.CreateClient();
        var baseline = await ListRv(client, service);

        // Warm up one watch (JIT, first connection).
        using (var warm = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                await foreach (var _ in Watch(client, service, baseline, warm.Token))
                {
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        var serverBefore = await child.MemoryAsync();
        var clientBefore = Measure.ManagedBytesAfterFullGc();
        using var stop = new CancellationTokenSource(Bound);
        var started = Stopwatch.GetTimestamp();
        var enumerators = new IAsyncEnumerator<(WatchEventType, V1EndpointSlice)>[count];
        var firstMoves = new Task<bool>[count];
        for (var i = 0; i < count; i++)
        {
            enumerators[i] = Watch(client, service, baseline, stop.Token).GetAsyncEnumerator(stop.Token);
            firstMoves[i] = enumerators[i].MoveNextAsync().AsTask();
        }

        var calls = Stopwatch.GetElapsedTime(started);
        await child.SendAsync("wait-watches " + count.ToString(CultureInfo.InvariantCulture));
        var open = Stopwatch.GetElapsedTime(started);
        var serverAfter = await child.MemoryAsync();
        var clientAfter = Measure.ManagedBytesAfterFullGc();

        var arrivals = new TimeSpan[count];
        var eventStart = Stopwatch.GetTimestamp();
        var received = firstMoves.Select(async (move, i) =>
        {
            var ok = await move;
            arrivals[i] = Stopwatch.GetElapsedTime(eventStart);
            return ok && enumerators[i].Current.Item1 == WatchEventType.Modified;
        }).ToArray();
        await child.SendAsync($"set-ready {service} {EmulatorHost.Address(1)} false");
        var reached = 0;
        try
        {
            reached = (await Task.WhenAll(received).WaitAsync(TimeSpan.FromSeconds(30))).Count(ok => ok);
        }
        catch (TimeoutException)
        {
            reached = received.Count(t => t.IsCompletedSuccessfully && t.Result);
        }

        var sorted = arrivals.Where(a => a > TimeSpan.Zero).Order().ToList();
        report.Row("watches requested", count);
        report.Row("time to issue the watch calls", calls);
        report.Row("time until the server reports all open (headers sent)", open);
        report.Row("server managed memory delta (child process, after full GC)", $"{Measure.Mb(serverAfter.Managed - serverBefore.Managed):0.0} MB ({(serverAfter.Managed - serverBefore.Managed) / count:N0} B/watch)");
        report.Row("server working set delta", $"{Measure.Mb(serverAfter.WorkingSet - serverBefore.WorkingSet):0.0} MB");
        report.Row($"client managed memory delta (stock client, {count:N0} HTTP/1.1 connections)", $"{Measure.Mb(clientAfter - clientBefore):0.0} MB");
        report.Row("watches that received the one MODIFIED event", $"{reached} of {count}");
        report.Row("event fan-out: first / p50 / p99 / last arrival", $"{Fmt(Measure.Percentile(sorted, 0))} / {Fmt(Measure.Percentile(sorted, 50))} / {Fmt(Measure.Percentile(sorted, 99))} / {Fmt(Measure.Percentile(sorted, 100))}");
        report.Note("Goal (issue #2): 1,000 concurrent watches held, and an event reaches all of them. Verdict: " + Verdict(reached == count));
        report.Note("Fan-out times run from just before the write command is sent to the child over stdin (so they include that hop) to each client's MoveNextAsync completing.");
        stop.Cancel();
        foreach (var enumerator in enumerators)
        {
            try
            {
                await enumerator.DisposeAsync();
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
            {
            }
        }

        return report;
    }

    /// <summary>10,000 EndpointSlices (10 endpoints each) listed through the stock client from an emulator in a child process.</summary>
    public static async Task<Report> LargeListAsync(ExperimentArgs args)
    {
        var count = args.Int("slices", 10_000);
        var repeats = args.Int("repeats", 5);
        var report = new Report().Columns("run", "items", "time", "goal", "verdict");
        await using var child = await ChildEmulator.StartAsync();
        var populate = await child.SendAsync($"populate {count} 10");
        using var client = child.CreateClient();
        var times = new List<TimeSpan>();
        for (var run = 0; run <= repeats; run++)
        {
            var started = Stopwatch.GetTimestamp();
            var list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(namespaceParameter: EmulatorHost.Namespace);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (list.Items.Count != count)
            {
                throw new InvalidOperationException($"Listed {list.Items.Count} slices, expected {count}.");
            }

            var label = run == 0 ? "1 (cold: first request, JIT)" : (run + 1).ToString(CultureInfo.InvariantCulture);
            report.Row(label, list.Items.Count, elapsed, "< 1 s", Verdict(elapsed < TimeSpan.FromSeconds(1)));
            if (run > 0)
            {
                times.Add(elapsed);
            }

            if (run == 0)
            {
                var bytes = KubernetesJson.Serialize(list).Length;
                report.Note($"Response size about {bytes / (1024.0 * 1024.0):0.0} MB of JSON (re-serialized by the client, so approximate).");
            }
        }

        times.Sort();
        report.Note($"Warm median {Fmt(Measure.Percentile(times, 50))}, worst {Fmt(times[^1])}. Populating the store with {count:N0} Services and slices took {populate[0]} ms.");
        report.Note("Time is the whole stock-client call: request, server serialization, transfer over loopback, client deserialization into V1EndpointSliceList.");
        return report;
    }

    internal static string Verdict(bool met) => met ? "met" : "**missed**";

    internal static string Fmt(TimeSpan t) => t.TotalMilliseconds >= 1000
        ? t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s"
        : t.TotalMilliseconds.ToString("0.##", CultureInfo.InvariantCulture) + " ms";

    private static async Task<string> ListRv(Kubernetes client, string service)
    {
        var list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(namespaceParameter: EmulatorHost.Namespace, labelSelector: EmulatorObjects.ServiceNameLabel + "=" + service);
        return list.Metadata.ResourceVersion;
    }

    private static IAsyncEnumerable<(WatchEventType, V1EndpointSlice)> Watch(Kubernetes client, string service, string resourceVersion, CancellationToken cancellationToken)
        => client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            namespaceParameter: EmulatorHost.Namespace,
            labelSelector: EmulatorObjects.ServiceNameLabel + "=" + service,
            resourceVersion: resourceVersion,
            allowWatchBookmarks: false,
            timeoutSeconds: 600,
            onError: e => throw e,
            cancellationToken: cancellationToken);

    private static Task<TimeSpan> WriteToggles(KubernetesApiEmulator emulator, string sliceName, int count)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            emulator.SetEndpointConditions(EmulatorHost.Namespace, sliceName, Addresses[1], ready: i % 2 == 0 ? false : true);
        }

        return Task.FromResult(Stopwatch.GetElapsedTime(started));
    }

    private static async Task<TimeSpan> ReadAsync(Kubernetes client, string fromResourceVersion, int count)
    {
        using var stop = new CancellationTokenSource(Bound);
        var started = Stopwatch.GetTimestamp();
        var seen = 0;
        await foreach (var (type, _) in Watch(client, Service, fromResourceVersion, stop.Token))
        {
            if (type == WatchEventType.Modified && ++seen == count)
            {
                break;
            }
        }

        return Stopwatch.GetElapsedTime(started);
    }
}
