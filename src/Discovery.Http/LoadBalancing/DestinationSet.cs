namespace Discovery.Http;

/// <summary>
/// The destinations of one Service port in one snapshot, built once when the snapshot changes and then only read.
/// Zone membership is precomputed; health filtering is cached in <see cref="View"/> until an ejection starts or ends.
/// </summary>
internal sealed class DestinationSet
{
    private volatile CandidateView? _view;

    public DestinationSet(ServicePortBalancer balancer, PortSelection selection, DestinationState[] all, DestinationState[] local, Dictionary<string, EndpointStatistics> statistics)
    {
        Balancer = balancer;
        Selection = selection;
        All = all;
        Local = local;
        Statistics = statistics;
    }

    /// <summary>The balancer that built the set.</summary>
    public ServicePortBalancer Balancer { get; }

    public PortSelection Selection { get; }

    public ServiceEndpointSnapshot Snapshot => Selection.Snapshot;

    /// <summary>Every destination, healthy or not.</summary>
    public DestinationState[] All { get; }

    /// <summary>The destinations in (or hinted for) the caller's zone; empty when zone-aware routing does not apply.</summary>
    public DestinationState[] Local { get; }

    /// <summary>The endpoint statistics by authority, for the next set to carry over.</summary>
    public Dictionary<string, EndpointStatistics> Statistics { get; }

    public CandidateView? View
    {
        get => _view;
        set => _view = value;
    }
}
