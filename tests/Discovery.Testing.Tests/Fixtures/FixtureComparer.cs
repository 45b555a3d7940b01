using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Discovery.Testing.Tests.Fixtures;

/// <summary>
/// Compares a recorded JSON body with the emulator's structurally: same keys in the same order,
/// same values, except server-chosen ones (uid, timestamps, managedFields, allocated cluster IPs)
/// and resourceVersions, which are mapped through a <see cref="RevisionMap"/> instead.
/// </summary>
internal sealed partial class FixtureComparer(RevisionMap revisions, Dictionary<string, string> uids)
{
    private static readonly HashSet<string> ServerChosen = ["creationTimestamp", "time", "deletionTimestamp", "clusterIP", "clusterIPs", "managedFields"];

    public List<string> Differences { get; } = [];

    public void Compare(JsonNode? expected, JsonNode? actual, string path, bool unorderedArrays = false)
    {
        switch (expected)
        {
            case JsonObject e when actual is JsonObject a:
                var expectedKeys = e.Select(p => p.Key).ToList();
                var actualKeys = a.Select(p => p.Key).ToList();
                if (!expectedKeys.SequenceEqual(actualKeys))
                {
                    Differences.Add($"{path}: keys [{string.Join(",", expectedKeys)}] expected, got [{string.Join(",", actualKeys)}]");
                    return;
                }

                foreach (var key in expectedKeys)
                {
                    CompareValue(key, e[key], a[key], $"{path}.{key}", unorderedArrays);
                }

                break;
            case JsonArray e when actual is JsonArray a:
                if (e.Count != a.Count)
                {
                    Differences.Add($"{path}: {e.Count} items expected, got {a.Count}");
                    return;
                }

                var expectedItems = unorderedArrays ? e.OrderBy(SortKey, StringComparer.Ordinal).ToList() : [.. e];
                var actualItems = unorderedArrays ? a.OrderBy(SortKey, StringComparer.Ordinal).ToList() : [.. a];
                for (var i = 0; i < expectedItems.Count; i++)
                {
                    Compare(expectedItems[i], actualItems[i], $"{path}[{i}]");
                }

                break;
            default:
                if (!JsonNode.DeepEquals(expected, actual))
                {
                    Differences.Add($"{path}: {expected?.ToJsonString() ?? "null"} expected, got {actual?.ToJsonString() ?? "null"}");
                }

                break;
        }
    }

    private void CompareValue(string key, JsonNode? expected, JsonNode? actual, string path, bool unorderedArrays)
    {
        if (ServerChosen.Contains(key) && !(key == "clusterIP" && expected?.ToString() == "None") && !(key == "clusterIPs" && expected?.ToJsonString() == "[\"None\"]") && expected is not null && actual is not null)
        {
            if (expected.GetValueKind() != actual.GetValueKind())
            {
                Differences.Add($"{path}: {expected.GetValueKind()} expected, got {actual.GetValueKind()}");
            }

            return;
        }

        switch (key)
        {
            case "resourceVersion" when expected is JsonValue && actual is JsonValue:
                var recorded = long.Parse(expected.GetValue<string>(), CultureInfo.InvariantCulture);
                var emulated = long.Parse(actual.GetValue<string>(), CultureInfo.InvariantCulture);
                if (revisions.Record(recorded, emulated) is { } problem)
                {
                    Differences.Add($"{path}: {problem}");
                }

                return;
            case "uid" when expected is JsonValue && actual is JsonValue:
                var recordedUid = expected.GetValue<string>();
                var emulatedUid = actual.GetValue<string>();
                if (uids.TryGetValue(recordedUid, out var known) ? known != emulatedUid : !TryAddUid(recordedUid, emulatedUid))
                {
                    Differences.Add($"{path}: uid {recordedUid} maps to {known} before, {emulatedUid} now");
                }

                return;
            case "continue" when expected is JsonValue && actual is JsonValue:
                CompareContinue(expected.GetValue<string>(), actual.GetValue<string>(), path);
                return;
            case "message" when expected is JsonValue && actual is JsonValue && expected.GetValue<string>().StartsWith("too old resource version", StringComparison.Ordinal):
                if (Digits().Replace(expected.GetValue<string>(), "N") != Digits().Replace(actual.GetValue<string>(), "N"))
                {
                    Differences.Add($"{path}: {expected} expected, got {actual}");
                }

                return;
            default:
                Compare(expected, actual, path, unorderedArrays && key is "items" or "events");
                return;
        }
    }

    private bool TryAddUid(string recorded, string emulated)
    {
        if (uids.ContainsValue(emulated) && recorded != emulated)
        {
            return false;
        }

        uids[recorded] = emulated;
        return true;
    }

    private void CompareContinue(string expected, string actual, string path)
    {
        var e = Decode(expected);
        var a = Decode(actual);
        if (e is null || a is null)
        {
            Differences.Add($"{path}: continue token {actual} is not like {expected}");
            return;
        }

        if (e.Value.Start != a.Value.Start || e.Value.Version != a.Value.Version)
        {
            Differences.Add($"{path}: continue token {a} expected like {e}");
        }

        if (e.Value.Revision == -1 || a.Value.Revision == -1)
        {
            if (e.Value.Revision != a.Value.Revision)
            {
                Differences.Add($"{path}: continue token revision {a.Value.Revision}, expected {e.Value.Revision}");
            }
        }
        else if (revisions.Record(e.Value.Revision, a.Value.Revision) is { } problem)
        {
            Differences.Add($"{path}: {problem}");
        }

        if (!IsUnpaddedBase64Url(actual))
        {
            Differences.Add($"{path}: continue token is not unpadded base64url");
        }
    }

    public static (string Version, long Revision, string Start)? Decode(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var json = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            var keys = JsonNode.Parse(json)!.AsObject().Select(p => p.Key).ToList();
            if (!keys.SequenceEqual(["v", "rv", "start"]))
            {
                return null;
            }

            var node = JsonNode.Parse(json)!;
            return (node["v"]!.GetValue<string>(), node["rv"]!.GetValue<long>(), node["start"]!.GetValue<string>());
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static bool IsUnpaddedBase64Url(string token) => token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string SortKey(JsonNode? node) =>
        node?["object"]?["metadata"]?["name"]?.ToString() ?? node?["metadata"]?["name"]?.ToString() ?? node?.ToJsonString() ?? "";

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
