using System.Collections.Concurrent;

namespace Discovery.Demo.App;

/// <summary>Every request a <see cref="TrafficGenerator"/> sent, kept so a phase can measure what happened around a change.</summary>
public sealed class RequestLog
{
    private readonly ConcurrentQueue<RequestRecord> _records = new();

    /// <summary>Appends a request.</summary>
    public void Add(RequestRecord record) => _records.Enqueue(record);

    /// <summary>The requests so far, ordered by when they were sent.</summary>
    public IReadOnlyList<RequestRecord> ToList() => [.. _records.OrderBy(r => r.StartedAt)];

    /// <summary>The requests sent at or after <paramref name="since"/>, ordered by when they were sent.</summary>
    public IReadOnlyList<RequestRecord> Since(long since) => [.. _records.Where(r => r.StartedAt >= since).OrderBy(r => r.StartedAt)];

    /// <summary>Number of requests so far.</summary>
    public int Count => _records.Count;
}
