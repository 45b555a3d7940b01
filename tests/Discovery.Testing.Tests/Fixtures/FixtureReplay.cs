using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Testing.Tests.Fixtures;

/// <summary>
/// Replays every recorded exchange against one emulator, in file order, with the setup objects
/// and the recorded state changes applied at the points the fixtures README lists. Time is a fake
/// clock, so the 70 s watches take milliseconds; mutations happen at their recorded offsets.
/// </summary>
public sealed class FixtureReplay : IAsyncLifetime
{
    private const string AdminToken = "admin-token";
    private static readonly Dictionary<int, string> Skipped = new()
    {
        [19] = "HTTP/2 over TLS: the emulator serves plain-http HTTP/1.1 only (what the stock client uses against http://); its body is that of 02, which is replayed.",
        [23] = "HTTP/2 over TLS: the emulator serves plain-http HTTP/1.1 only; its body bytes equal 21's, which is replayed.",
        [51] = "etcd-specific: with the watch cache off, a watch from exactly one below the compaction revision got a 500 'etcd event received with PrevKv=nil'. The emulator answers 410 Expired, as the README says it need not copy this.",
    };

    // Fixtures recorded with --watch-cache=false answer an expired watch with etcd's message; the emulator always behaves like the watch cache.
    private static readonly Dictionary<int, string[]> AllowedDifferences = new()
    {
        [56] = ["events[0].object.message"],
    };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 20, 39, 0, TimeSpan.Zero));
    private readonly RevisionMap _revisions = new();
    private readonly Dictionary<string, string> _uids = [];
    private readonly Dictionary<string, string> _continueTokens = [];
    private readonly Dictionary<string, FixtureOutcome> _outcomes = [];
    private KubernetesApiEmulator? _emulator;

    public static string FixtureDirectory => Path.Combine(AppContext.BaseDirectory, "fixtures", "apiserver-v1.26");

    public static IEnumerable<string> FileNames => Directory.GetFiles(FixtureDirectory, "*.http").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public IReadOnlyList<string> SetupNotes { get; private set; } = [];

    internal FixtureOutcome Outcome(string fileName) => _outcomes.TryGetValue(fileName, out var outcome) ? outcome : new FixtureOutcome(["not replayed"]);

    public async ValueTask InitializeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var token = deadline.Token;
        _emulator = await KubernetesApiEmulator.StartAsync(
            new KubernetesApiEmulatorOptions
            {
                RequiredBearerToken = AdminToken,
                UserName = "admin",
                AllowLoopbackAddresses = false,
                TimeProvider = _time,
            },
            token);
        var notes = new List<string>();
        await SetUpAsync(notes, token);
        SetupNotes = notes;

        // Replayed in recording order (the Date headers): 28-31 were recorded before 26-27.
        var transcripts = FileNames.Select(f => HttpTranscript.Load(Path.Combine(FixtureDirectory, f)))
            .OrderBy(t => DateTimeOffset.Parse(t.ResponseHeader("Date")!, CultureInfo.InvariantCulture))
            .ThenBy(t => t.Number)
            .ToList();
        foreach (var transcript in transcripts)
        {
            var number = transcript.Number;
            if (Skipped.TryGetValue(number, out var reason))
            {
                _outcomes[transcript.FileName] = new FixtureOutcome([], reason);
                continue;
            }

            if (number == 22)
            {
                continue; // replayed together with 21, as it was recorded concurrently
            }

            if (number == 57)
            {
                // The recording restarted the server with the watch cache on; its window starts at the current revision.
                _emulator.CompactNow();
            }

            using var perTranscript = CancellationTokenSource.CreateLinkedTokenSource(token);
            perTranscript.CancelAfter(TimeSpan.FromSeconds(20));
            try
            {
                if (number == 21)
                {
                    var concurrent = transcripts.Single(t => t.Number == 22);
                    var results = await ReplayWatchesAsync([transcript, concurrent], perTranscript.Token);
                    _outcomes[transcript.FileName] = Compare(transcript, results[0]);
                    _outcomes[concurrent.FileName] = Compare(concurrent, results[1]);
                }
                else if (transcript.IsWatch)
                {
                    var results = await ReplayWatchesAsync([transcript], perTranscript.Token);
                    _outcomes[transcript.FileName] = Compare(transcript, results[0]);
                }
                else
                {
                    await using var connection = await RawHttpConnection.ConnectAsync(_emulator.BaseAddress, perTranscript.Token);
                    var response = await connection.ExchangeAsync(transcript.Method, TranslatePath(transcript.PathAndQuery), Headers(transcript), TranslateBody(transcript.RequestBody), perTranscript.Token);
                    _outcomes[transcript.FileName] = Compare(transcript, response);
                }
            }
            catch (OperationCanceledException) when (perTranscript.IsCancellationRequested && !deadline.IsCancellationRequested)
            {
                _outcomes[transcript.FileName] = new FixtureOutcome(["replay timed out after 20 s"]);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _outcomes[transcript.FileName] = new FixtureOutcome([$"replay failed: {e}"]);
            }

            if (number == 50)
            {
                await MutateAsync("PATCH", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices/bandicoot-prod-x7p2w", "application/merge-patch+json", "51a-merge-patch-endpointslice-bandicoot-prod-x7p2w.json", token);
                _emulator.CompactNow();
            }
            else if (number == 55)
            {
                await MutateAsync("PATCH", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices/bandicoot-prod-x7p2w", "application/merge-patch+json", "56a-merge-patch-endpointslice-bandicoot-prod-x7p2w.json", token);
                _emulator.CompactNow();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    private async Task SetUpAsync(List<string> notes, CancellationToken token)
    {
        // The RBAC objects become emulator users; fixtures 34-40 use their tokens.
        _emulator!.Access.AddUser("nobody-token", "system:serviceaccount:demo:nobody", restricted: true);
        _emulator.Access.AddUser("reader-token", "system:serviceaccount:demo:reader", restricted: true);
        _emulator.Access.Grant("system:serviceaccount:demo:reader", "demo", ["endpointslices", "services", "endpoints"], ["get", "list", "watch"]);

        foreach (var file in Directory.GetFiles(Path.Combine(FixtureDirectory, "setup"), "*.json").Order(StringComparer.Ordinal))
        {
            var json = JsonNode.Parse(await File.ReadAllTextAsync(file, token))!;
            var kind = json["kind"]!.GetValue<string>();
            var ns = json["metadata"]?["namespace"]?.GetValue<string>();
            var path = kind switch
            {
                "Namespace" => "/api/v1/namespaces",
                "Service" => $"/api/v1/namespaces/{ns}/services",
                "Endpoints" => $"/api/v1/namespaces/{ns}/endpoints",
                "EndpointSlice" => $"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
                _ => null,
            };
            if (path is null)
            {
                // It still took a resourceVersion on the real server.
                _emulator.AdvanceResourceVersion();
                notes.Add($"{Path.GetFileName(file)}: {kind} is not served; its permissions are emulator access rules (user tokens + Grant).");
                continue;
            }

            await using var connection = await RawHttpConnection.ConnectAsync(_emulator.BaseAddress, token);
            var response = await connection.ExchangeAsync("POST", path + "?fieldManager=kubectl-create", [new("Content-Type", "application/json"), new("Authorization", "Bearer " + AdminToken), new("User-Agent", "kubectl/v1.27.0")], json.ToJsonString(), token);
            if (response.StatusCode != 201)
            {
                throw new InvalidOperationException($"Setup {file} failed: {response.StatusCode} {Encoding.UTF8.GetString(response.Body)}");
            }
        }
    }

    private async Task<RawHttpResponse[]> ReplayWatchesAsync(HttpTranscript[] transcripts, CancellationToken token)
    {
        var connections = new List<RawHttpConnection>();
        try
        {
            var bodies = new List<Task<RawHttpResponse>>();
            foreach (var transcript in transcripts)
            {
                var connection = await RawHttpConnection.ConnectAsync(_emulator!.BaseAddress, token);
                connections.Add(connection);
                await connection.SendAsync(transcript.Method, TranslatePath(transcript.PathAndQuery), Headers(transcript), null, token);
                var (status, headers) = await connection.ReadHeadersAsync(token);
                bodies.Add(connection.ReadBodyAsync(status, headers, token));
            }

            var opened = _emulator!.WaitForOpenWatchesAsync(transcripts.Length, token);
            if (await Task.WhenAny(Task.WhenAll(bodies), opened) == opened)
            {
                var timeout = int.Parse(QueryValue(transcripts[0].PathAndQuery, "timeoutSeconds") ?? "0", CultureInfo.InvariantCulture);
                var actions = Timeline(transcripts[0].Number);
                for (var second = 1; second <= timeout; second++)
                {
                    _time.Advance(TimeSpan.FromSeconds(1));
                    if (actions.TryGetValue(second, out var action))
                    {
                        await action(token);
                    }

                    await _emulator.WaitForWatchesIdleAsync(token);
                }
            }

            return await Task.WhenAll(bodies).WaitAsync(TimeSpan.FromSeconds(30), token);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>The state changes made while a watch was recorded, by second after the request.</summary>
    private Dictionary<int, Func<CancellationToken, Task>> Timeline(int number) => number switch
    {
        21 => new()
        {
            [1] = t => MutateAsync("PATCH", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices/alpaca-prod-7xkqp", "application/json-patch+json", "21a-json-patch-endpointslice-alpaca-prod-7xkqp-endpoint-not-ready.json", t),
            [2] = t => MutateAsync("PATCH", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices/alpaca-prod-m2r9d", "application/json-patch+json", "21b-json-patch-endpointslice-alpaca-prod-m2r9d-add-endpoint.json", t),
            [3] = t => MutateAsync("DELETE", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices/alpaca-prod-m2r9d", null, null, t),
            [4] = t => MutateAsync("POST", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices", "application/json", "21d-endpointslice-alpaca-prod-q5t8n.json", t),
        },
        27 => new()
        {
            [5] = t => MutateAsync("PATCH", "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices/bandicoot-prod-x7p2w", "application/merge-patch+json", "27a-merge-patch-endpointslice-bandicoot-prod-x7p2w.json", t),
        },
        33 => new()
        {
            [1] = t => MutateAsync("PATCH", "/api/v1/namespaces/demo/endpoints/alpaca-prod", "application/json-patch+json", "33a-json-patch-endpoints-alpaca-prod-address-ready.json", t),
        },
        62 => new()
        {
            [1] = t => MutateAsync("PATCH", "/api/v1/namespaces/demo/services/alpaca-prod", "application/merge-patch+json", "62a-merge-patch-service-alpaca-prod-label.json", t),
        },
        _ => [],
    };

    private async Task MutateAsync(string method, string path, string? contentType, string? mutationFile, CancellationToken token)
    {
        var body = mutationFile is null ? null : JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(FixtureDirectory, "mutations", mutationFile), token))!.ToJsonString();
        var manager = method switch { "PATCH" => "kubectl-patch", "POST" => "kubectl-create", _ => "kubectl" };
        List<KeyValuePair<string, string>> headers = [new("Authorization", "Bearer " + AdminToken), new("User-Agent", "kubectl/v1.27.0")];
        if (contentType is not null)
        {
            headers.Add(new("Content-Type", contentType));
        }

        await using var connection = await RawHttpConnection.ConnectAsync(_emulator!.BaseAddress, token);
        var response = await connection.ExchangeAsync(method, path + (method == "DELETE" ? "" : "?fieldManager=" + manager), headers, body, token);
        if (response.StatusCode is not (200 or 201))
        {
            throw new InvalidOperationException($"Mutation {method} {path} failed: {response.StatusCode} {Encoding.UTF8.GetString(response.Body)}");
        }
    }

    private static List<KeyValuePair<string, string>> Headers(HttpTranscript transcript)
    {
        var headers = transcript.RequestHeaders.Where(h => h.Key != "Authorization").ToList();
        var token = transcript.Number switch
        {
            >= 34 and <= 36 => "nobody-token",
            >= 37 and <= 40 => "reader-token",
            41 => "not-a-valid-token",
            42 => null,
            _ => AdminToken,
        };
        if (token is not null)
        {
            headers.Add(new("Authorization", "Bearer " + token));
        }

        return headers;
    }

    private string TranslatePath(string pathAndQuery)
    {
        var parts = pathAndQuery.Split('?', 2);
        if (parts.Length == 1)
        {
            return pathAndQuery;
        }

        var query = parts[1].Split('&').Select(pair =>
        {
            var kv = pair.Split('=', 2);
            return kv[0] switch
            {
                "resourceVersion" when kv[1] != "0" => "resourceVersion=" + _revisions.Map(long.Parse(kv[1], CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture),
                "continue" => "continue=" + TranslateContinue(kv[1]),
                _ => pair,
            };
        });
        return parts[0] + "?" + string.Join("&", query);
    }

    private string TranslateContinue(string token)
    {
        if (_continueTokens.TryGetValue(token, out var known))
        {
            return known;
        }

        var decoded = FixtureComparer.Decode(token) ?? throw new InvalidOperationException($"Unreadable continue token {token}");
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("v", decoded.Version);
            writer.WriteNumber("rv", decoded.Revision < 0 ? decoded.Revision : _revisions.Map(decoded.Revision));
            writer.WriteString("start", decoded.Start);
            writer.WriteEndObject();
        }

        return Convert.ToBase64String(buffer.WrittenSpan).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private string? TranslateBody(string? body)
    {
        if (body is null)
        {
            return null;
        }

        var node = JsonNode.Parse(body)!;
        if (node["metadata"] is JsonObject metadata)
        {
            if (metadata["resourceVersion"]?.GetValue<string>() is { } rv)
            {
                metadata["resourceVersion"] = _revisions.Map(long.Parse(rv, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
            }

            if (metadata["uid"]?.GetValue<string>() is { } uid && _uids.TryGetValue(uid, out var mapped))
            {
                metadata["uid"] = mapped;
            }
        }

        // The client wrote keys sorted and compact; keep that shape.
        return node.ToJsonString();
    }

    private static string? QueryValue(string pathAndQuery, string name) =>
        pathAndQuery.Split('?', 2).Skip(1).SelectMany(q => q.Split('&')).Select(p => p.Split('=', 2)).FirstOrDefault(kv => kv[0] == name)?[1];

    private FixtureOutcome Compare(HttpTranscript recorded, RawHttpResponse actual)
    {
        var differences = new List<string>();
        if (recorded.StatusCode != actual.StatusCode)
        {
            differences.Add($"status {actual.StatusCode}, expected {recorded.StatusCode}: {Encoding.UTF8.GetString(actual.Body)}");
            return new FixtureOutcome(differences);
        }

        if (recorded.ResponseHeader("Content-Type") != actual.Header("Content-Type"))
        {
            differences.Add($"Content-Type '{actual.Header("Content-Type")}', expected '{recorded.ResponseHeader("Content-Type")}'");
        }

        foreach (var name in new[] { "Audit-Id", "Cache-Control", "X-Content-Type-Options", "X-Kubernetes-Pf-Flowschema-Uid", "X-Kubernetes-Pf-Prioritylevel-Uid", "Date" })
        {
            if ((recorded.ResponseHeader(name) is null) != (actual.Header(name) is null))
            {
                differences.Add($"header {name} {(actual.Header(name) is null ? "missing" : "unexpected")}");
            }
        }

        if (recorded.ResponseHeader("Cache-Control") is { } cacheControl && actual.Header("Cache-Control") != cacheControl)
        {
            differences.Add($"Cache-Control '{actual.Header("Cache-Control")}', expected '{cacheControl}'");
        }

        var recordedChunked = recorded.ResponseHeader("Transfer-Encoding") == "chunked";
        var recordedSize = recordedChunked ? -1 : int.Parse(recorded.ResponseHeader("Content-Length") ?? "-1", CultureInfo.InvariantCulture);
        var nearThreshold = Math.Abs(actual.Body.Length - 2048) < 256 || (recordedSize >= 0 && Math.Abs(recordedSize - 2048) < 256);
        if (recordedChunked != actual.IsChunked && !nearThreshold)
        {
            differences.Add($"framing {(actual.IsChunked ? "chunked" : "Content-Length")}, expected {(recordedChunked ? "chunked" : "Content-Length")}");
        }

        var comparer = new FixtureComparer(_revisions, _uids);
        var allowed = AllowedDifferences.GetValueOrDefault(recorded.Number, []);
        if (recorded.IsWatch && recorded.StatusCode == 200)
        {
            CompareWatch(recorded, actual, comparer, differences);
        }
        else if (recorded.PathAndQuery == "/version")
        {
            if (!recorded.ResponseBody.AsSpan().SequenceEqual(actual.Body))
            {
                differences.Add("/version body differs");
            }
        }
        else
        {
            var recordedText = Encoding.UTF8.GetString(recorded.ResponseBody);
            var actualText = Encoding.UTF8.GetString(actual.Body);
            var recordedPretty = recordedText.StartsWith("{\n", StringComparison.Ordinal);
            if (recordedPretty != actualText.StartsWith("{\n", StringComparison.Ordinal) || recordedText.EndsWith('\n') != actualText.EndsWith('\n') || actualText.EndsWith("\n\n", StringComparison.Ordinal))
            {
                differences.Add($"formatting differs (pretty={recordedPretty}, trailing newline={recordedText.EndsWith('\n')})");
            }

            var unordered = QueryValue(recorded.PathAndQuery, "resourceVersion") == "0";
            comparer.Compare(JsonNode.Parse(recordedText), JsonNode.Parse(actualText), "", unordered);
            RememberContinue(recordedText, actualText);
        }

        differences.AddRange(comparer.Differences.Where(d => !allowed.Any(a => d.StartsWith("." + a, StringComparison.Ordinal) || d.StartsWith(a, StringComparison.Ordinal))));
        return new FixtureOutcome(differences);
    }

    private void RememberContinue(string recordedText, string actualText)
    {
        var recordedToken = JsonNode.Parse(recordedText)?["metadata"]?["continue"]?.GetValue<string>();
        var actualToken = JsonNode.Parse(actualText)?["metadata"]?["continue"]?.GetValue<string>();
        if (recordedToken is not null && actualToken is not null)
        {
            _continueTokens[recordedToken] = actualToken;
        }
    }

    private static void CompareWatch(HttpTranscript recorded, RawHttpResponse actual, FixtureComparer comparer, List<string> differences)
    {
        List<byte[]> recordedChunks = [];
        var recordedBody = recorded.Number == 22 ? DecodeChunks(recorded.ResponseBody, out recordedChunks) : recorded.ResponseBody;
        if (recorded.Number == 22)
        {
            if (actual.Chunks is null || actual.Chunks.Any(c => c.Length == 0 || c[^1] != '\n' || Array.IndexOf(c, (byte)'\n') != c.Length - 1))
            {
                differences.Add("not one chunk per event line");
            }

            if (recordedChunks.Any(c => c[^1] != '\n'))
            {
                differences.Add("recording is not one chunk per event line");
            }
        }

        var recordedEvents = Events(Encoding.UTF8.GetString(recordedBody));
        var actualEvents = Events(Encoding.UTF8.GetString(actual.Body));
        var rv = QueryValue(recorded.PathAndQuery, "resourceVersion");
        var initialState = rv is null or "0";
        comparer.Compare(new JsonObject { ["events"] = new JsonArray([.. recordedEvents]) }, new JsonObject { ["events"] = new JsonArray([.. actualEvents]) }, "", initialState);
        if (!Encoding.UTF8.GetString(actual.Body).Split('\n').SkipLast(1).All(l => l.StartsWith("{\"type\":", StringComparison.Ordinal)))
        {
            differences.Add("watch lines are not compact JSON event objects, one per line");
        }
    }

    /// <summary>Parses event lines, collapsing repeated identical bookmarks (their count depends on timer timing).</summary>
    private static List<JsonNode> Events(string body)
    {
        var events = new List<JsonNode>();
        string? previous = null;
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line == previous && line.StartsWith("{\"type\":\"BOOKMARK\"", StringComparison.Ordinal))
            {
                continue;
            }

            events.Add(JsonNode.Parse(line)!);
            previous = line;
        }

        return events;
    }

    private static byte[] DecodeChunks(byte[] raw, out List<byte[]> chunks)
    {
        chunks = [];
        var result = new MemoryStream();
        var position = 0;
        while (position < raw.Length)
        {
            var lineEnd = Array.IndexOf(raw, (byte)'\n', position);
            var size = int.Parse(Encoding.ASCII.GetString(raw, position, lineEnd - position).TrimEnd('\r'), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            position = lineEnd + 1;
            if (size == 0)
            {
                break;
            }

            chunks.Add(raw[position..(position + size)]);
            result.Write(raw, position, size);
            position += size + 2;
        }

        return result.ToArray();
    }
}
