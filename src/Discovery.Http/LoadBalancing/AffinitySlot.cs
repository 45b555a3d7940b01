namespace Discovery.Http;

/// <summary>
/// The endpoint requests from this process to one Service port stick to under <c>sessionAffinity: ClientIP</c>, and when it
/// was last used. Lock-free: two first requests racing may each pick, and the later one's pick is kept (kube-proxy races the
/// same way between two first connections).
/// </summary>
internal sealed class AffinitySlot
{
    private volatile string? _authority;
    private long _lastUsed;
    private long _timeout;

    /// <summary>The sticky endpoint's <c>address:port</c> while its stickiness has not run out at <paramref name="now"/>, else <see langword="null"/>.</summary>
    public string? Current(long now, long timeout)
    {
        var authority = _authority;
        return authority is not null && now - Interlocked.Read(ref _lastUsed) < timeout ? authority : null;
    }

    /// <summary>Restarts the stickiness from <paramref name="now"/> (the timeout runs from the last request).</summary>
    public void Touch(long now) => Interlocked.Exchange(ref _lastUsed, now);

    /// <summary>Makes <paramref name="destination"/> the sticky one from <paramref name="now"/>.</summary>
    public void Stick(DestinationState destination, long now, long timeout)
    {
        _authority = destination.Authority;
        Interlocked.Exchange(ref _lastUsed, now);
        Interlocked.Exchange(ref _timeout, timeout);
    }

    /// <summary>Whether the stickiness has run out at <paramref name="now"/>, so the slot can be dropped.</summary>
    public bool IsExpired(long now) => _authority is null || now - Interlocked.Read(ref _lastUsed) >= Interlocked.Read(ref _timeout);

    /// <summary>The sticky endpoint's <c>address:port</c>, if any (for tests and diagnostics).</summary>
    public string? Authority => _authority;
}
