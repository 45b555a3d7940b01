using System.Collections.Concurrent;

namespace Discovery.Internal;

/// <summary>
/// Remembers which Services have logged their use of an environment-variable or DNS fallback, so that each logs once per
/// Service for the resolver's lifetime, across watcher restarts (idle eviction, retries) and concurrent lookups.
/// </summary>
internal sealed class FallbackLogRegistry(int capacity)
{
    private readonly ConcurrentDictionary<(ServiceKey Service, EndpointSourceKind Source), byte> _logged = new();
    private int _count;

    /// <summary>Whether this is the first use of <paramref name="source"/> for <paramref name="service"/>: the caller logs it.</summary>
    public bool ShouldLog(ServiceKey service, EndpointSourceKind source)
    {
        var key = (service, source);
        if (_logged.ContainsKey(key))
        {
            return false;
        }

        // Hosts can be user input and the DNS fallback accepts any name: past the capacity (the watcher cap), further
        // Services stay unlogged rather than growing this set, or the log, without bound.
        if (Interlocked.Increment(ref _count) > capacity)
        {
            Interlocked.Decrement(ref _count);
            return false;
        }

        if (_logged.TryAdd(key, 0))
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }
}
