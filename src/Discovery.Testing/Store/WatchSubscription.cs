using System.Threading.Channels;

namespace Discovery.Testing.Store;

/// <summary>One open watch as the store sees it: a queue of events of its type (and namespace).</summary>
internal sealed class WatchSubscription : IDisposable
{
    public WatchSubscription(ResourceType type, string? @namespace, long startRevision)
    {
        Type = type;
        Namespace = @namespace;
        StartRevision = startRevision;
    }

    public ResourceType Type { get; }

    /// <summary>The namespace watched; null for all namespaces.</summary>
    public string? Namespace { get; }

    /// <summary>The revision the watch started after; bookmarks are sent only for newer events.</summary>
    public long StartRevision { get; }

    private int _pending;

    /// <summary>Items queued or backlogged but not yet written (or skipped); zero when the watch is idle.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Queues an item for the stream.</summary>
    public void Enqueue(StoreEvent e)
    {
        Interlocked.Increment(ref _pending);
        if (!Events.Writer.TryWrite(e))
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Counts items the stream will send first, before any queued ones.</summary>
    public void AddBacklog(int count) => Interlocked.Add(ref _pending, count);

    /// <summary>Marks one item written or skipped.</summary>
    public void Processed() => Interlocked.Decrement(ref _pending);

    public Channel<StoreEvent> Events { get; } = Channel.CreateUnbounded<StoreEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    /// <summary>Cancelled to cut the connection (dropped-watch fault, outage, disposal).</summary>
    public CancellationTokenSource Dropped { get; } = new();

    public bool Matches(StoredObject obj) => obj.Type == Type && (Namespace is null || Namespace == obj.Namespace);

    public void Dispose() => Dropped.Dispose();
}
