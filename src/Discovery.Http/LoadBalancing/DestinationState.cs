namespace Discovery.Http;

/// <summary>
/// One endpoint a request can go to, with the live state a load-balancing policy decides on: requests in flight, recent
/// latency and health. The state carries over from one endpoint set to the next as long as the endpoint (address and port) stays.
/// </summary>
public sealed class DestinationState
{
    /// <summary>Creates a destination with fresh state (for testing custom policies).</summary>
    public DestinationState(EndpointTarget target)
        : this(target, new EndpointStatistics(target?.Authority ?? string.Empty, TimeProvider.System))
    {
    }

    internal DestinationState(EndpointTarget target, EndpointStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(target);
        Target = target;
        Statistics = statistics;
    }

    /// <summary>The endpoint and the port requests go to.</summary>
    public EndpointTarget Target { get; }

    /// <summary>The endpoint.</summary>
    public ServiceEndpoint Endpoint => Target.Endpoint;

    /// <summary><c>address:port</c> requests go to.</summary>
    public string Authority => Target.Authority;

    /// <summary>Requests sent to this endpoint by this client that have not yet received their response headers.</summary>
    public int OutstandingRequests => Statistics.Outstanding;

    /// <summary>
    /// An exponentially weighted moving average of the time to response headers, fading toward zero while the endpoint
    /// receives no traffic (so that a once-slow endpoint is probed again within about a second). The endpoint's first response
    /// (connection setup, cold start) is not counted, and a sample counts for at most twice the previous estimate.
    /// <see cref="TimeSpan.Zero"/> until the second response.
    /// </summary>
    public TimeSpan LatencyEstimate => Statistics.GetLatencyEstimate();

    /// <summary>Consecutive failed requests (5xx, timeouts, errors) since the last success.</summary>
    public int ConsecutiveFailures => Statistics.ConsecutiveFailures;

    /// <summary>Whether passive health checking has currently ejected the endpoint.</summary>
    public bool IsEjected => Statistics.IsEjected(Statistics.TimeProvider.GetTimestamp());

    internal EndpointStatistics Statistics { get; }

    /// <summary>When the endpoint became usable, as a <see cref="TimeProvider"/> timestamp, while it is in slow start; else 0.</summary>
    internal long SlowStartSince { get; set; }

    /// <summary>Slow start's credit, in thousandths of a pick: a pick is kept when a full one has accrued (see <see cref="SlowStart"/>).</summary>
    internal int SlowStartCredit;

    /// <summary>Whether the destination set prefers this destination (same node or zone); set once while the set is built.</summary>
    internal bool IsPreferred { get; set; }

    /// <summary>The last URI rewritten for this destination (see <see cref="RewrittenUri"/>); races only cost a rebuild.</summary>
    internal RewrittenUri? LastRewrite { get; set; }

    /// <inheritdoc/>
    public override string ToString() => Target.ToString();
}
