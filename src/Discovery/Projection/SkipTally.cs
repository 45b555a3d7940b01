namespace Discovery.Internal;

/// <summary>Counts the entries skipped in one object and keeps the first reason: one log line says enough.</summary>
internal struct SkipTally
{
    public int Count { get; private set; }

    public string? First { get; private set; }

    public void Add(string reason)
    {
        Count++;
        First ??= reason;
    }
}
