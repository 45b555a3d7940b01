namespace Discovery.Testing.Tests.Fixtures;

/// <summary>
/// Maps resourceVersions seen in the recording to the ones the emulator answered with at the
/// same place, so later requests can be translated and orderings checked.
/// </summary>
internal sealed class RevisionMap
{
    private readonly SortedDictionary<long, long> _map = [];

    public IReadOnlyDictionary<long, long> Pairs => _map;

    /// <summary>Records a pair; returns a problem if it contradicts an earlier one or breaks ordering.</summary>
    public string? Record(long recorded, long emulated)
    {
        if (_map.TryGetValue(recorded, out var known))
        {
            return known == emulated ? null : $"recorded resourceVersion {recorded} was answered as {known} before but {emulated} now";
        }

        foreach (var (r, e) in _map)
        {
            if ((r < recorded && e > emulated) || (r > recorded && e < emulated))
            {
                return $"ordering differs: recorded {r} vs {recorded}, emulated {e} vs {emulated}";
            }
        }

        _map[recorded] = emulated;
        return null;
    }

    public long Map(long recorded) => _map.TryGetValue(recorded, out var e) ? e : throw new KeyNotFoundException($"No emulator resourceVersion is known for recorded {recorded}.");
}
