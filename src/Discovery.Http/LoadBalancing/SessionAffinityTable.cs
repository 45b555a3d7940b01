using System.Collections.Concurrent;

namespace Discovery.Http;

/// <summary>
/// The <see cref="AffinitySlot"/> of every Service port with <c>sessionAffinity: ClientIP</c>, shared by every client of the
/// process (kube-proxy keys affinity on the client's IP, which all of them share). Slots whose stickiness ran out are removed
/// by the clients' idle sweeps, so the table holds only Service ports used within their timeout.
/// </summary>
internal sealed class SessionAffinityTable
{
    private readonly ConcurrentDictionary<(ServiceKey Service, string Port), AffinitySlot> _slots = new();

    private int _generation;

    /// <summary>Changes whenever a slot is removed: a holder of a slot from an earlier generation looks it up again.</summary>
    public int Generation => Volatile.Read(ref _generation);

    public AffinitySlot Get(ServiceKey service, string port) => _slots.GetOrAdd((service, port), static _ => new AffinitySlot());

    public int Count => _slots.Count;

    /// <summary>Removes the slots whose stickiness ran out by <paramref name="now"/>.</summary>
    public void RemoveExpired(long now)
    {
        foreach (var pair in _slots)
        {
            if (pair.Value.IsExpired(now) && _slots.TryRemove(pair))
            {
                Interlocked.Increment(ref _generation);
            }
        }
    }
}
