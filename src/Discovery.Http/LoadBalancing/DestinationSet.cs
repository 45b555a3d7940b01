namespace Discovery.Http;

/// <summary>
/// The destinations of one Service port in one snapshot, built once when the snapshot changes and then only read.
/// Zone membership is precomputed; health filtering is cached in <see cref="View"/> until an ejection starts or ends.
/// </summary>
internal sealed class DestinationSet
{
    private volatile CandidateView? _view;

    public DestinationSet(ServicePortBalancer balancer, PortSelection selection, DestinationState[] all, DestinationState[] local, Dictionary<string, EndpointStatistics> statistics, TopologyChoice? topology = null, string? zone = null)
    {
        Balancer = balancer;
        Selection = selection;
        All = all;
        Local = local;
        Statistics = statistics;
        Failure = topology?.Failure;
        MinLocalShare = topology?.MinPreferredShare ?? 0;
        Mode = topology?.Mode ?? TopologyMode.None;
        Zone = zone;
    }

    /// <summary>The index in <see cref="All"/> by authority, when the Service has session affinity; else <see langword="null"/>.</summary>
    public Dictionary<string, int>? IndexByAuthority { get; init; }

    /// <summary>How long requests stick to one endpoint after the last one, in <see cref="TimeProvider"/> timestamp units; 0 without session affinity.</summary>
    public long AffinityTimeout { get; init; }

    /// <summary>The slow-start window in <see cref="TimeProvider"/> timestamp units; 0 when slow start is off.</summary>
    public long SlowStartWindow { get; init; }

    /// <summary>When each endpoint (by authority) became usable, 0 for those there from the start; <see langword="null"/> when slow start is off.</summary>
    public Dictionary<string, long>? ReadySince { get; init; }

    /// <summary>Why <see cref="All"/> is empty although the port has endpoints (<c>internalTrafficPolicy: Local</c>), if so.</summary>
    public DiscoveryException? Failure { get; }

    /// <summary>The least share of healthy destinations the healthy <see cref="Local"/> ones must make up to be used alone.</summary>
    public double MinLocalShare { get; }

    /// <summary>How <see cref="Local"/> was chosen.</summary>
    public TopologyMode Mode { get; }

    /// <summary>The zone the set was built for; a set built before the node's zone was known is rebuilt once it is.</summary>
    public string? Zone { get; }

    /// <summary>The balancer that built the set.</summary>
    public ServicePortBalancer Balancer { get; }

    public PortSelection Selection { get; }

    public ServiceEndpointSnapshot Snapshot => Selection.Snapshot;

    /// <summary>Every destination, healthy or not.</summary>
    public DestinationState[] All { get; }

    /// <summary>The preferred destinations (hinted for, or in, this node or zone); empty when no topology preference applies.</summary>
    public DestinationState[] Local { get; }

    /// <summary>The endpoint statistics by authority, for the next set to carry over.</summary>
    public Dictionary<string, EndpointStatistics> Statistics { get; }

    public CandidateView? View
    {
        get => _view;
        set => _view = value;
    }
}
