namespace Discovery.Http;

/// <summary>
/// The mutable state of one endpoint (address and port) for one client, shared by every <see cref="DestinationState"/>
/// built for it across snapshots. Updated with interlocked operations only: the request path takes no lock.
/// </summary>
internal sealed class EndpointStatistics
{
    // Weight of a new latency sample; about the last five responses dominate.
    private const double LatencySmoothing = 0.3;

    // A sample counts for at most this many times the endpoint's last estimate: one outlier (a GC pause, a new connection after
    // the pool let the old one go) moves the estimate by at most 30 %, less than the 1.5x a policy needs to call an endpoint
    // clearly slower, so only a run of slow responses steers traffic; a pod that is slow for real still gets there in a few.
    private const double OutlierFactor = 2;

    // While an endpoint receives no responses its latency estimate fades with this time constant, so that a policy that
    // prefers low latency probes it again instead of shunning it after one slow period: an outlier stops steering traffic
    // within about a second, and a slow endpoint is probed again about as often.
    private static readonly TimeSpan LatencyDecay = TimeSpan.FromSeconds(1);

    private int _outstanding;
    private int _consecutiveFailures;
    private int _ejectionLevel;
    private long _ejectedUntil;
    private long _latencyTicks;
    private long _latencyUpdatedAt;
    private int _readmissionPending;
    private int _latencySamples;
    private long _lastPicked;

    public EndpointStatistics(string authority, TimeProvider timeProvider)
    {
        Authority = authority;
        TimeProvider = timeProvider;
    }

    public string Authority { get; }

    public TimeProvider TimeProvider { get; }

    public int Outstanding => Volatile.Read(ref _outstanding);

    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    public int EjectionLevel => Volatile.Read(ref _ejectionLevel);

    /// <summary>The <see cref="TimeProvider"/> timestamp the current ejection ends at (0: never ejected).</summary>
    public long EjectedUntil => Volatile.Read(ref _ejectedUntil);

    public bool IsEjected(long now) => now < Volatile.Read(ref _ejectedUntil);

    public void Started() => Interlocked.Increment(ref _outstanding);

    public void Finished() => Interlocked.Decrement(ref _outstanding);

    /// <summary>The sequence number of the last time a policy picked the endpoint (0: never), for least-recently-picked tie breaks.</summary>
    public long LastPicked => Volatile.Read(ref _lastPicked);

    /// <summary>Records that a policy picked the endpoint as number <paramref name="sequence"/> of its Service port.</summary>
    public void MarkPicked(long sequence) => Volatile.Write(ref _lastPicked, sequence);

    public void RecordLatency(TimeSpan elapsed) => RecordLatency(elapsed, TimeProvider.GetTimestamp());

    /// <summary>Records a latency sample taken at <paramref name="now"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void RecordLatency(TimeSpan elapsed, long now)
    {
        // The first response of an endpoint carries connection setup and the backend's cold start (JIT, caches): not the
        // service time requests will see, and on its own it would brand a new pod slow exactly when it joins after a scale-up.
        if (Interlocked.Increment(ref _latencySamples) == 1)
        {
            return;
        }

        // Blend into the faded estimate, so that a probe after a quiet spell counts as much as the history it replaces.
        var raw = Volatile.Read(ref _latencyTicks);
        var previous = GetLatencyEstimate(now).Ticks;
        var sample = raw == 0 ? elapsed.Ticks : Math.Min(elapsed.Ticks, (long)(raw * OutlierFactor));
        var next = raw == 0 ? sample : (long)(previous + (LatencySmoothing * (sample - previous)));

        // A lost update between two concurrent responses only drops one sample of a moving average.
        Volatile.Write(ref _latencyTicks, Math.Max(next, 1));
        Volatile.Write(ref _latencyUpdatedAt, now);
    }

    /// <summary>The last recorded estimate before fading (0: no response yet); never below the faded estimate.</summary>
    public long RawLatencyTicks => Volatile.Read(ref _latencyTicks);

    public TimeSpan GetLatencyEstimate() => GetLatencyEstimate(TimeProvider.GetTimestamp());

    /// <summary>The latency estimate as of <paramref name="now"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public TimeSpan GetLatencyEstimate(long now)
    {
        var ticks = Volatile.Read(ref _latencyTicks);
        if (ticks == 0)
        {
            return TimeSpan.Zero;
        }

        var idle = TimeProvider.GetElapsedTime(Volatile.Read(ref _latencyUpdatedAt), now);
        if (idle <= TimeSpan.Zero)
        {
            return TimeSpan.FromTicks(ticks);
        }

        return TimeSpan.FromTicks((long)(ticks * Decay(idle.TotalSeconds / LatencyDecay.TotalSeconds)));
    }
    /// <summary>Records a success: forgets consecutive failures, and the ejection level once the endpoint is back in use.</summary>
    /// <param name="now">The <see cref="TimeProvider"/> timestamp of the response.</param>
    public void RecordSuccess(long now)
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }

        if (Volatile.Read(ref _ejectionLevel) != 0 && !IsEjected(now))
        {
            Volatile.Write(ref _ejectionLevel, 0);
        }
    }

    /// <summary>Records a failure and returns the number of consecutive failures.</summary>
    public int RecordFailure() => Interlocked.Increment(ref _consecutiveFailures);

    /// <summary>Ejects the endpoint until <c>now + duration</c>, raising its ejection level. Returns the new level.</summary>
    public int Eject(long now, TimeSpan baseDuration, TimeSpan maxDuration, out TimeSpan duration)
    {
        var level = Interlocked.Increment(ref _ejectionLevel);

        // Back-off doubles per repeated ejection; the shift is bounded so that it cannot overflow.
        var factor = 1L << Math.Min(level - 1, 20);
        duration = TimeSpan.FromTicks(Math.Min(baseDuration.Ticks * factor, maxDuration.Ticks));
        Volatile.Write(ref _ejectedUntil, now + (long)(duration.TotalSeconds * TimeProvider.TimestampFrequency));
        Volatile.Write(ref _consecutiveFailures, 0);
        Volatile.Write(ref _readmissionPending, 1);
        return level;
    }

    /// <summary>
    /// Whether the endpoint's ejection has ended and this is the first to notice it (once per ejection, whichever destination
    /// set or thread asks), so that its return to rotation is reported once.
    /// </summary>
    public bool TryTakeReadmission(long now)
        => Volatile.Read(ref _readmissionPending) != 0 && !IsEjected(now) && Interlocked.Exchange(ref _readmissionPending, 0) != 0;

    /// <summary><c>e^-x</c> for <c>x &gt; 0</c>; between requests <c>x</c> is tiny, where three Taylor terms are exact to 1e-10.</summary>
    private static double Decay(double x) => x < 1e-3 ? 1 - x + (0.5 * x * x) : Math.Exp(-x);
}
