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

    public Channel<StoreEvent> Events { get; } = Channel.CreateUnbounded<StoreEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    /// <summary>Cancelled to cut the connection (dropped-watch fault, outage, disposal).</summary>
    public CancellationTokenSource Dropped { get; } = new();

    public bool Matches(StoredObject obj) => obj.Type == Type && (Namespace is null || Namespace == obj.Namespace);

    public void Dispose() => Dropped.Dispose();
}
