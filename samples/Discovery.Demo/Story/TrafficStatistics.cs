using System.Diagnostics;
using System.Globalization;
using Discovery.Demo.App;

namespace Discovery.Demo.Story;

/// <summary>The measurements the phases take from a <see cref="RequestLog"/>.</summary>
public static class TrafficStatistics
{
    /// <summary>Requests answered per pod, for the given pods (in order, including those that got none).</summary>
    public static IReadOnlyList<(string Pod, int Count)> CountByPod(IEnumerable<RequestRecord> records, IEnumerable<string> pods)
    {
        var counts = records.Where(r => r.Pod is not null).GroupBy(r => r.Pod!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return [.. pods.Select(pod => (pod, counts.GetValueOrDefault(pod)))];
    }

    /// <summary>Requests answered per pod, for every pod that answered, by name.</summary>
    public static IReadOnlyList<(string Pod, int Count)> CountByPod(IEnumerable<RequestRecord> records) =>
        [.. records.Where(r => r.Pod is not null).GroupBy(r => r.Pod!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count()))];

    /// <summary>Whether every pod's share lies within ±50 % of an even split.</summary>
    public static bool IsEvenlySpread(IReadOnlyList<(string Pod, int Count)> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var total = counts.Sum(c => c.Count);
        if (counts.Count == 0 || total == 0)
        {
            return false;
        }

        var fair = (double)total / counts.Count;
        return counts.All(c => c.Count >= fair * 0.5 && c.Count <= fair * 1.5);
    }

    /// <summary>The shares as percentages, for a summary: <c>34/33/33 %</c>.</summary>
    public static string Shares(IReadOnlyList<(string Pod, int Count)> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var total = Math.Max(1, counts.Sum(c => c.Count));
        return string.Join('/', counts.Select(c => Math.Round(100.0 * c.Count / total).ToString(CultureInfo.InvariantCulture))) + " %";
    }

    /// <summary>
    /// When traffic stopped reaching <paramref name="pod"/> after a change at <paramref name="changedAt"/>: the first
    /// request sent after the last one the pod answered that went elsewhere. <see langword="null"/> when requests
    /// kept reaching the pod until the end of <paramref name="records"/> or no request went elsewhere.
    /// </summary>
    public static RequestRecord? FirstRequestAvoiding(IReadOnlyList<RequestRecord> records, string pod, long changedAt)
    {
        ArgumentNullException.ThrowIfNull(records);
        var after = records.Where(r => r.StartedAt >= changedAt).ToList();
        var lastHit = after.LastOrDefault(r => r.Pod == pod);
        var from = lastHit?.StartedAt ?? changedAt;
        return after.FirstOrDefault(r => r.StartedAt >= from && r.Succeeded && r.Pod != pod);
    }

    /// <summary>The first request after <paramref name="since"/> that <paramref name="pod"/> answered.</summary>
    public static RequestRecord? FirstRequestReaching(IReadOnlyList<RequestRecord> records, string pod, long since) =>
        records.FirstOrDefault(r => r.StartedAt >= since && r.Pod == pod);

    /// <summary>Milliseconds from one <see cref="Stopwatch"/> timestamp to another.</summary>
    public static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>Formats milliseconds for the console: <c>3.2 ms</c>.</summary>
    public static string FormatMilliseconds(double milliseconds) => milliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    /// <summary>Formats a count with thousands separators.</summary>
    public static string FormatCount(int count) => count.ToString("N0", CultureInfo.InvariantCulture);
}
