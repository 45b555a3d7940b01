namespace Discovery.Internal;

/// <summary>
/// Shares one instance of the short strings that repeat across many API objects (zone and node names, port names,
/// protocols, Service types): the client deserializes each occurrence into its own string, and a namespace watch holds
/// every endpoint of the namespace. Bounded: past <see cref="MaxStrings"/> distinct values (a hostile or very large
/// cluster), further values are kept unshared rather than growing the pool. Thread-safe; one per resolver.
/// </summary>
internal sealed class StringPool
{
    /// <summary>How many distinct values the pool holds at most.</summary>
    public const int MaxStrings = 16_384;

    /// <summary>Values longer than this are kept as they are: names that long are unlikely to repeat.</summary>
    public const int MaxLength = 128;

    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>The pooled instance equal to <paramref name="value"/> (adding it while there is room), or <paramref name="value"/> itself.</summary>
    public string? Get(string? value)
    {
        if (value is null || value.Length > MaxLength)
        {
            return value;
        }

        if (value.Length == 0)
        {
            return string.Empty;
        }

        lock (_gate)
        {
            if (_strings.TryGetValue(value, out var pooled))
            {
                return pooled;
            }

            if (_strings.Count < MaxStrings)
            {
                _strings.Add(value);
            }

            return value;
        }
    }

    /// <summary>The number of distinct values held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _strings.Count;
            }
        }
    }
}
