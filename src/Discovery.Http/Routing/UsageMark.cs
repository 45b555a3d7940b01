namespace Discovery.Http;

/// <summary>
/// Tells an idle sweep whether an entry was used since the sweep before. The request path only reads a flag (and writes it
/// when it was clear, at most once per sweep period), so marking takes no lock, no clock read and no shared-line write per request.
/// </summary>
/// <remarks>A mutable struct: keep it in a field, never copy it.</remarks>
internal struct UsageMark
{
    private int _used;
    private long _lastSeenUsed;

    public UsageMark(long now)
    {
        _used = 1;
        _lastSeenUsed = now;
    }

    /// <summary>Marks the entry used.</summary>
    public void Touch()
    {
        if (Volatile.Read(ref _used) == 0)
        {
            Volatile.Write(ref _used, 1);
        }
    }

    /// <summary>
    /// Called by the sweep only: whether the entry went unused for at least <paramref name="idleTimeout"/>, to within one sweep period.
    /// Clears the mark.
    /// </summary>
    public bool IsIdle(long now, TimeSpan idleTimeout, TimeProvider timeProvider)
    {
        if (Interlocked.Exchange(ref _used, 0) != 0)
        {
            _lastSeenUsed = now;
            return false;
        }

        return timeProvider.GetElapsedTime(_lastSeenUsed, now) >= idleTimeout;
    }
}
