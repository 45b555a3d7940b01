namespace Discovery.Internal;

/// <summary>
/// The subscribers of one watcher (<see cref="IServiceEndpointResolver.WatchAsync"/>, <c>Subscribe</c>) and whether the
/// watcher has stopped: a subscriber is never added to a stopped watcher, and a watcher with subscribers is never retired
/// as idle. Both decisions need the two facts together, so both live behind this object's one lock.
/// </summary>
internal sealed class SubscriberList
{
    // Guards _stopped and writes of _subscribers; _subscribers is copy-on-write, so notifying reads it without the lock.
    private readonly object _lock = new();
    private Action<ServiceEndpointSnapshot>[] _subscribers = [];
    private bool _stopped;

    /// <summary>Whether the watcher stopped (idle or disposed).</summary>
    public bool IsStopped
    {
        get
        {
            lock (_lock)
            {
                return _stopped;
            }
        }
    }

    /// <summary>The current subscribers (a copy-on-write array: safe to enumerate while others subscribe).</summary>
    public Action<ServiceEndpointSnapshot>[] Current => Volatile.Read(ref _subscribers);

    /// <summary>Adds <paramref name="subscriber"/> unless the watcher has stopped.</summary>
    public bool TryAdd(Action<ServiceEndpointSnapshot> subscriber)
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return false;
            }

            Volatile.Write(ref _subscribers, [.. _subscribers, subscriber]);
            return true;
        }
    }

    public void Remove(Action<ServiceEndpointSnapshot> subscriber)
    {
        lock (_lock)
        {
            Volatile.Write(ref _subscribers, Array.FindAll(_subscribers, s => s != subscriber));
        }
    }

    /// <summary>Marks the watcher stopped when it has no subscriber and <paramref name="mayStop"/> agrees (evaluated under the lock).</summary>
    public bool TryStop(Func<bool> mayStop)
    {
        lock (_lock)
        {
            if (_stopped || _subscribers.Length > 0 || !mayStop())
            {
                return false;
            }

            _stopped = true;
            return true;
        }
    }

    /// <summary>Marks the watcher stopped.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            _stopped = true;
        }
    }
}
