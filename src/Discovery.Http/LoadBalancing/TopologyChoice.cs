namespace Discovery.Http;

/// <summary>
/// Which endpoints of one Service port this process may send to, and which of them it prefers, after the Service's traffic
/// policy and topology (see <see cref="TopologyFilter"/>). Built once per destination set.
/// </summary>
internal sealed class TopologyChoice
{
    public TopologyChoice(EndpointTarget[] reachable, bool[]? preferred, double minPreferredShare, TopologyMode mode, DiscoveryException? failure)
    {
        Reachable = reachable;
        Preferred = preferred;
        MinPreferredShare = minPreferredShare;
        Mode = mode;
        Failure = failure;
    }

    /// <summary>The endpoints requests may go to.</summary>
    public EndpointTarget[] Reachable { get; }

    /// <summary>Per entry of <see cref="Reachable"/>, whether it is preferred; <see langword="null"/> when none is.</summary>
    public bool[]? Preferred { get; }

    /// <summary>The least share of healthy reachable endpoints the healthy preferred ones must make up to be used alone.</summary>
    public double MinPreferredShare { get; }

    /// <summary>How the preference was decided.</summary>
    public TopologyMode Mode { get; }

    /// <summary>Why <see cref="Reachable"/> is empty when the port has endpoints (<c>internalTrafficPolicy: Local</c>), if so.</summary>
    public DiscoveryException? Failure { get; }
}
