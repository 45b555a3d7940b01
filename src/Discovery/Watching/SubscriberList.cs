namespace Discovery.Internal;

/// <summary>
/// The subscribers of one watcher (<see cref="IServiceEndpointResolver.WatchAsync"/>, <c>Subscribe</c>) and whether the
/// watcher has stopped: a subscriber is never added to a stopped watcher, and a watcher with subscribers is never retired
/// as idle. Both decisions need the two facts together, so both live in one reference, changed by compare-and-swap.
/// </summary>
/// <remarks>
/// No lock: the one field is a copy-on-write array, or <see cref="StoppedMark"/> once the watcher has stopped (then it never
/// changes again). Every change is one compare-and-swap from the array it was decided on, so a decision taken on a state
/// that changed meanwhile is retried (or, for <see cref="TryStop"/>, abandoned) instead of applied. Each of 10,000 watchers
/// has one of these: a lock object each would be 24 B more per Service. Once stopped, there is no one to notify: a build
/// that races with the watcher's disposal publishes a snapshot that is superseded at once (see SnapshotPublisher.Publish).
/// </remarks>
internal sealed class SubscriberList
{
    // The stopped state: an array of its own, compared by reference only and never enumerated (Current returns an empty
    // array instead). Its one no-op entry only keeps it distinct from the shared empty array.
    private static readonly Action<ServiceEndpointSnapshot>[] StoppedMark = [static _ => { }];

    private Action<ServiceEndpointSnapshot>[] _subscribers = [];

    /// <summary>Whether the watcher stopped (idle or disposed).</summary>
    public bool IsStopped => ReferenceEquals(Volatile.Read(ref _subscribers), StoppedMark);

    /// <summary>The current subscribers (a copy-on-write array: safe to enumerate while others subscribe); none once stopped.</summary>
    public Action<ServiceEndpointSnapshot>[] Current
    {
        get
        {
            var subscribers = Volatile.Read(ref _subscribers);
            return ReferenceEquals(subscribers, StoppedMark) ? [] : subscribers;
        }
    }

    /// <summary>Adds <paramref name="subscriber"/> unless the watcher has stopped.</summary>
    public bool TryAdd(Action<ServiceEndpointSnapshot> subscriber)
    {
        while (true)
        {
            var current = Volatile.Read(ref _subscribers);
            if (ReferenceEquals(current, StoppedMark))
            {
                return false;
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _subscribers, [.. current, subscriber], current), current))
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Removes one entry of <paramref name="subscriber"/>: subscriptions may share a callback (the adapters hold watchers
    /// with one cached no-op delegate), and ending one must not end the others.
    /// </summary>
    public void Remove(Action<ServiceEndpointSnapshot> subscriber)
    {
        while (true)
        {
            var current = Volatile.Read(ref _subscribers);
            var index = Array.IndexOf(current, subscriber);
            if (ReferenceEquals(current, StoppedMark) || index < 0)
            {
                return;
            }

            Action<ServiceEndpointSnapshot>[] remaining = [.. current.AsSpan(0, index), .. current.AsSpan(index + 1)];
            if (ReferenceEquals(Interlocked.CompareExchange(ref _subscribers, remaining, current), current))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Marks the watcher stopped when it has no subscriber and <paramref name="mayStop"/> agrees. A subscriber still there
    /// after <paramref name="mayStop"/> ran wins: the swap from the list it was evaluated on then fails, and this returns false.
    /// </summary>
    public bool TryStop(Func<bool> mayStop)
    {
        var current = Volatile.Read(ref _subscribers);
        if (current.Length > 0 || ReferenceEquals(current, StoppedMark) || !mayStop())
        {
            return false;
        }

        return ReferenceEquals(Interlocked.CompareExchange(ref _subscribers, StoppedMark, current), current);
    }

    /// <summary>Marks the watcher stopped.</summary>
    public void Stop() => Volatile.Write(ref _subscribers, StoppedMark);
}
