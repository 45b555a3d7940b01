using System.Diagnostics;
using System.Text;
using k8s;

namespace Discovery.Reliability.Tests;

/// <summary>
/// Scenario 5: hostile bytes from the API — fuzzed watch lines and list bodies — through the stock client and our core.
/// Nothing may crash, each hostile line must reach the client, each valid event after a bad one must still be applied,
/// a hostile list body is never taken as the list, and memory must come back.
/// </summary>
public sealed class HostileInputTests
{
    private const string Service = "hostile";

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s + "\n");

    private static string SliceJson(string body) =>
        $"{{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{{\"name\":\"{Service}-1\",\"namespace\":\"default\",\"resourceVersion\":\"999\",\"labels\":{{\"kubernetes.io/service-name\":\"{Service}\"}}}},\"addressType\":\"IPv4\",{body}}}";

    public static IEnumerable<(string Name, byte[] Line)> WatchCases()
    {
        yield return ("truncated JSON", Utf8("{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"hostile-1\""));
        yield return ("endpoints is a string", Utf8("{\"type\":\"MODIFIED\",\"object\":" + SliceJson("\"endpoints\":\"nope\",\"ports\":[]") + "}"));
        yield return ("wrong nested types", Utf8("{\"type\":\"MODIFIED\",\"object\":" + SliceJson("\"endpoints\":[{\"addresses\":[1,2],\"conditions\":{\"ready\":\"yes\"}}],\"ports\":[{\"port\":\"eighty\"}]") + "}"));
        yield return ("unknown event type", Utf8("{\"type\":\"EXPLODED\",\"object\":" + SliceJson("\"endpoints\":[],\"ports\":[]") + "}"));
        var invalid = new List<byte>(Encoding.UTF8.GetBytes("{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\""));
        invalid.AddRange([0xFF, 0xFE, 0xC0, 0x80]);
        invalid.AddRange(Encoding.UTF8.GetBytes("\"},\"endpoints\":["));
        invalid.AddRange([0xED, 0xA0, 0x80]);
        invalid.AddRange(Encoding.UTF8.GetBytes("]}}\n"));
        yield return ("non-UTF-8 bytes", [.. invalid]);
        yield return ("deep nesting (100,000 levels)", Utf8("{\"type\":\"MODIFIED\",\"object\":" + SliceJson("\"endpoints\":" + new string('[', 100_000) + new string(']', 100_000)) + "}"));
        yield return ("huge array of junk (2,000,000 numbers)", Utf8("{\"type\":\"MODIFIED\",\"object\":" + SliceJson("\"endpoints\":[" + string.Join(',', Enumerable.Repeat("0", 2_000_000)) + "]") + "}"));
        yield return ("huge valid slice (100,000 endpoints)", Utf8("{\"type\":\"MODIFIED\",\"object\":" + SliceJson("\"endpoints\":[" + string.Join(',', Enumerable.Range(0, 100_000).Select(i => $"{{\"addresses\":[\"10.{i / 65536}.{i / 256 % 256}.{i % 256}\"]}}")) + "],\"ports\":[{\"name\":\"http\",\"port\":8080}]") + "}"));
        yield return ("8 MB of whitespace in one line", Utf8("{\"type\":\"MODIFIED\"," + new string(' ', 8 * 1024 * 1024) + "\"object\":null}"));
        yield return ("blank line", "\n"u8.ToArray());
        yield return ("null", Utf8("null"));
        yield return ("JSON array", Utf8("[1,2,3]"));
        yield return ("object null", Utf8("{\"type\":\"MODIFIED\",\"object\":null}"));
        yield return ("no object", Utf8("{\"type\":\"DELETED\"}"));
        yield return ("object without metadata", Utf8("{\"type\":\"ADDED\",\"object\":{\"kind\":\"EndpointSlice\",\"endpoints\":[{\"addresses\":[\"127.77.5.240\"]}]}}"));
        yield return ("ERROR with a non-numeric code", Utf8("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"code\":\"abc\"}}"));
        yield return ("ERROR 500", Utf8("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":500,\"message\":\"boom\"}}"));
        yield return ("BOOKMARK with a garbage resourceVersion", Utf8("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"\\u0000../../x\"}}}"));
    }

    [Fact]
    public async Task Fuzzed_watch_lines_crash_nothing_and_later_valid_events_still_apply()
    {
        var figures = new Figures("5a. Hostile watch lines");
        var unobserved = 0;
        string? firstUnobserved = null;
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            Interlocked.Increment(ref unobserved);
            Interlocked.CompareExchange(ref firstUnobserved, e.Exception.ToString(), null);
        }

        // Faulted tasks left behind by earlier tests in this process surface when they are finalized: flush them first, so
        // that what is counted here comes from this test's period.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            await using var api = await RawApi.StartAsync();
            api.SetSlice(Service, 8080, "127.77.5.1");
            using var logs = new CapturedLogs();
            await using var stack = DiscoveryStack.Create(api.CreateClient(), o =>
            {
                o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(10);
                o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(200);
            }, loggerFactory: logs.Factory);
            var key = Cluster.Key(Service);
            await stack.Resolver.GetSnapshotAsync(key, TestContext.Current.CancellationToken);
            var memoryStart = RuntimeProbe.ManagedMemoryAfterFullGc();

            var marker = 1;
            var results = new List<(string Name, bool Delivered, bool Applied, TimeSpan Took, int NewWatches, int Lists)>();
            foreach (var (name, line) in WatchCases())
            {
                var watchesBefore = logs.Records.Count(r => r.Message.Contains("failed (attempt", StringComparison.Ordinal));
                var listsBefore = api.Requests.Count(r => !r.Watch && r.Resource == "endpointslices");
                var started = Stopwatch.GetTimestamp();
                // The hostile line must reach the client: sent on the watch the client reads (or the next one, if it is
                // between watches), written and flushed. Before it, the previous case's change was applied, so that watch
                // is live.
                var sent = api.SendLine(line);
                var delivered = await Wait.UntilAsync(() => sent.IsCompleted, TimeSpan.FromSeconds(10));
                var address = PodPool.Address(5, ++marker);
                var valid = api.SetSlice(Service, 8080, address);
                _ = api.SendLine(RawApi.Line("MODIFIED", valid));
                var applied = await Wait.UntilAsync(
                    () => stack.Resolver.TryGetSnapshot(key, out var s) && s.UsableEndpoints.Length == 1 && s.UsableEndpoints[0].Address == address,
                    TimeSpan.FromSeconds(10));
                if (!applied)
                {
                    TestContext.Current.TestOutputHelper?.WriteLine($"--- {name}: logs\n{logs.Tail(8)}");
                }

                results.Add((name, delivered, applied, Stopwatch.GetElapsedTime(started),
                    logs.Records.Count(r => r.Message.Contains("failed (attempt", StringComparison.Ordinal)) - watchesBefore,
                    api.Requests.Count(r => !r.Watch && r.Resource == "endpointslices") - listsBefore));
            }

            // Addresses that are not IPs, and a slice labelled for another Service: valid JSON a real server would refuse.
            var foreign = Discovery.Testing.EmulatorObjects.EndpointSlice(Cluster.Namespace, "someone-else", "someone-else-1", 8080, "http", ["127.77.5.250"]);
            foreign.Metadata.ResourceVersion = api.NextVersion();
            var foreignSent = api.SendLine(RawApi.Line("ADDED", foreign));
            var weird = Discovery.Testing.EmulatorObjects.EndpointSlice(Cluster.Namespace, Service, Service + "-weird", 8080, "http", ["not-an-ip", "evil.example/x?", "127.77.5.251"]);
            weird.Metadata.ResourceVersion = api.NextVersion();
            var weirdSent = api.SendLine(RawApi.Line("ADDED", weird));
            Assert.True(await Wait.UntilAsync(() => foreignSent.IsCompleted && weirdSent.IsCompleted, TimeSpan.FromSeconds(10)), "the foreign and non-IP slices did not reach the client");
            Assert.True(await Wait.UntilAsync(() => stack.Resolver.TryGetSnapshot(key, out var s) && s.Endpoints.Any(e => e.Address == "127.77.5.251"), TimeSpan.FromSeconds(10)), "the slice with non-IP addresses was not applied");
            stack.Resolver.TryGetSnapshot(key, out var final);
            var addresses = final!.Endpoints.Select(e => e.Address).ToArray();

            var memoryEnd = RuntimeProbe.ManagedMemoryAfterFullGc();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            foreach (var r in results)
            {
                figures.Add(r.Name, $"{(r.Delivered ? "delivered" : "NOT DELIVERED")}; {(r.Applied ? "next valid event applied" : "NOT APPLIED")} in {r.Took.TotalMilliseconds:0} ms; watch failures (reconnects) {r.NewWatches}, re-lists {r.Lists}");
            }

            figures
                .Add("slice labelled for another Service merged into this one", addresses.Contains("127.77.5.250") ? "yes (trusts the server's label filter)" : "no")
                .Add("non-IP addresses kept in the snapshot", string.Join(", ", addresses.Where(a => !System.Net.IPAddress.TryParse(a, out _))) is { Length: > 0 } bad ? bad : "none")
                .Add("unobserved task exceptions", Volatile.Read(ref unobserved))
                .Add("managed memory after full GC, before → after the cases", $"{Figures.Megabytes(memoryStart)} → {Figures.Megabytes(memoryEnd)}")
                .Publish();

            Assert.All(results, r => Assert.True(r.Delivered, $"the hostile line '{r.Name}' never reached the client"));
            Assert.All(results, r => Assert.True(r.Applied, $"after '{r.Name}' the next valid event was not applied"));
            Assert.DoesNotContain("127.77.5.250", addresses);
            Assert.All(addresses, a => Assert.True(System.Net.IPAddress.TryParse(a, out _), $"non-IP address '{a}' in the snapshot"));
            // Bounded, not flat: after 8 MB lines and a 100,000-endpoint slice the runtime keeps pooled buffers and the
            // open watch's reader keeps its grown line buffer (see the figure).
            Assert.True(memoryEnd - memoryStart < 256L * 1024 * 1024, "memory did not come back after the hostile lines");
            Assert.True(Volatile.Read(ref unobserved) == 0, $"unobserved task exceptions: {unobserved}; first: {firstUnobserved}");
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    [Fact]
    public async Task Malformed_lines_from_the_emulator_lose_no_later_change()
    {
        var figures = new Figures("5c. Emulator-injected malformed watch lines");
        const string service = "malformed";
        await using var emulator = await Cluster.StartEmulatorAsync();
        emulator.ApplyServiceWithEndpoints(Cluster.Namespace, service, 8080, [PodPool.Address(5, 200)], withEndpoints: false);
        using var logs = new CapturedLogs();
        await using var stack = DiscoveryStack.Create(emulator.CreateClient(), o =>
        {
            o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(10);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(200);
        }, loggerFactory: logs.Factory);
        var key = Cluster.Key(service);
        await stack.Resolver.GetSnapshotAsync(key, TestContext.Current.CancellationToken);
        await emulator.WaitForOpenWatchesAsync(2, TestContext.Current.CancellationToken);

        const int rounds = 5;
        var applied = 0;
        var took = TimeSpan.Zero;
        emulator.ClearRequests();
        for (var i = 1; i <= rounds; i++)
        {
            var started = Stopwatch.GetTimestamp();
            emulator.Faults.InjectMalformedLine();
            var address = PodPool.Address(5, 200 + i);
            Cluster.SetEndpoints(emulator, service, 8080, [address]);
            if (await Wait.UntilAsync(() => stack.Resolver.TryGetSnapshot(key, out var s) && s.UsableEndpoints.Length == 1 && s.UsableEndpoints[0].Address == address, TimeSpan.FromSeconds(10)))
            {
                applied++;
            }

            took = took > Stopwatch.GetElapsedTime(started) ? took : Stopwatch.GetElapsedTime(started);
        }

        var watches = emulator.Requests.Count(r => r.IsWatch);
        var failures = logs.Records.Count(r => r.Message.Contains("failed (attempt", StringComparison.Ordinal));
        figures
            .Add("malformed lines injected (each followed by a valid change)", rounds)
            .Add("valid changes applied", applied)
            .Add("slowest change to apply", took)
            .Add("watch requests made meanwhile (0 = the stream survived each bad line)", watches)
            .Add("watch failures logged (the core ends a watch after a truncated line and resumes from its resourceVersion)", failures)
            .Add("first failure logged", logs.Records.FirstOrDefault(r => r.Message.Contains("failed (attempt", StringComparison.Ordinal)) is { } f ? $"{f.Exception?.GetType().Name}: {f.Exception?.Message}" : "none")
            .Publish();

        Assert.Equal(rounds, applied);
        Assert.True(took < TimeSpan.FromSeconds(5), $"a change after a malformed line took {took.TotalSeconds:0.0} s");
    }

    public static IEnumerable<(string Name, byte[] Body)> ListCases()
    {
        yield return ("truncated JSON", "{\"kind\":\"EndpointSliceList\",\"items\":[{\"metadata\":"u8.ToArray());
        yield return ("items is a string", "{\"kind\":\"EndpointSliceList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":\"x\"}"u8.ToArray());
        yield return ("metadata is an array", "{\"kind\":\"EndpointSliceList\",\"metadata\":[],\"items\":[]}"u8.ToArray());
        yield return ("non-UTF-8", [.. "{\"kind\":\"EndpointSliceList\",\"items\":[{\"metadata\":{\"name\":\""u8.ToArray(), 0xFF, 0xC0, .. "\"}}]}"u8.ToArray()]);
        yield return ("deep nesting", Encoding.UTF8.GetBytes("{\"items\":" + new string('[', 100_000) + new string(']', 100_000) + "}"));
        yield return ("huge array of junk", Encoding.UTF8.GetBytes("{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[" + string.Join(',', Enumerable.Repeat("1", 2_000_000)) + "]}"));
        yield return ("empty body", []);
        yield return ("HTML error page with 200", "<html><body>Bad gateway</body></html>"u8.ToArray());
        yield return ("null", "null"u8.ToArray());
    }

    [Fact]
    public async Task Fuzzed_list_bodies_crash_nothing_and_the_first_valid_list_syncs()
    {
        var figures = new Figures("5b. Hostile list bodies");
        await using var api = await RawApi.StartAsync();
        var cases = ListCases().ToArray();
        var served = new int[cases.Length];
        var hostileSlices = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        for (var i = 0; i < cases.Length; i++)
        {
            api.SetSlice($"hl-{i}", 8080, PodPool.Address(5, 100 + i));
        }

        // The first list of each Service gets its hostile body; later ones the valid list.
        api.SliceListOverride = service => int.TryParse(service.AsSpan(3), out var i) && Interlocked.Increment(ref served[i]) == 1 ? cases[i].Body : null;
        await using var stack = DiscoveryStack.Create(api.CreateClient(), o =>
        {
            o.ReconnectBaseDelay = TimeSpan.FromMilliseconds(10);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(200);
        });

        var outcomes = await Task.WhenAll(cases.Select(async (c, i) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var snapshot = await stack.Resolver.GetSnapshotAsync(Cluster.Key($"hl-{i}"), TestContext.Current.CancellationToken);
                var valid = snapshot.UsableEndpoints.Length == 1 && snapshot.UsableEndpoints[0].Address == PodPool.Address(5, 100 + i);
                var lists = Volatile.Read(ref served[i]);
                return (c.Name, Ok: valid && lists >= 2, Detail: $"no crash; synced after {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms, {lists} list(s); " + (valid ? "valid set from the retried list" : $"took the hostile body as the list: {snapshot}"));
            }
            catch (Exception e)
            {
                return (c.Name, Ok: false, Detail: $"{e.GetType().Name}: {e.Message}");
            }
        }));

        foreach (var (name, _, detail) in outcomes)
        {
            figures.Add(name, detail);
        }

        figures.Publish();

        // The first snapshot of each Service is the valid list's: the hostile body was refused (not taken as an empty or
        // partial list) and the list asked again.
        Assert.All(outcomes, o => Assert.True(o.Ok, $"{o.Name}: {o.Detail}"));
    }

    [Fact]
    public async Task A_list_whose_items_are_all_null_or_nameless_is_refused_and_asked_again()
    {
        // Valid list JSON whose items are all junk: not an empty set ("every slice was deleted" would take every endpoint
        // away) but a broken answer, failed like any other: the last good set (none yet) stays and the list is asked again.
        // (No slice for this Service on the server, so the second list is a real empty set.)
        await using var api = await RawApi.StartAsync();
        var served = 0;
        var body = "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[null,{},{\"metadata\":null}]}"u8.ToArray();
        api.SliceListOverride = _ => Interlocked.Increment(ref served) == 1 ? body : null;
        await using var stack = DiscoveryStack.Create(api.CreateClient());

        var snapshot = await stack.Resolver.GetSnapshotAsync(Cluster.Key("hl-items"), TestContext.Current.CancellationToken);

        Assert.Equal(2, Volatile.Read(ref served));
        Assert.Empty(snapshot.Endpoints);
    }
}
