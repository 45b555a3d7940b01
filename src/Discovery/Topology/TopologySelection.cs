using System.Collections.Immutable;

namespace Discovery;

/// <summary>
/// The endpoints of one Service port that kube-proxy on this application's node would send to, chosen by
/// <see cref="KubeProxyTopology.Select"/>. Immutable.
/// </summary>
public sealed class TopologySelection
{
    internal TopologySelection(PortSelection portSelection, ImmutableArray<EndpointTarget> reachable, ImmutableArray<EndpointTarget> targets, TopologyRule rule, DiscoveryException? failure)
    {
        PortSelection = portSelection;
        Reachable = reachable;
        Targets = targets;
        Rule = rule;
        Failure = failure;
    }

    /// <summary>The port selection the choice was made from.</summary>
    public PortSelection PortSelection { get; }

    /// <summary>
    /// The endpoints the Service's <c>internalTrafficPolicy</c> allows: all of <see cref="Discovery.PortSelection.Targets"/>, or with
    /// <c>Local</c> those on this node. Topology hints do not narrow it.
    /// </summary>
    public ImmutableArray<EndpointTarget> Reachable { get; }

    /// <summary>
    /// The endpoints to send to: the ready endpoints the topology rule prefers (hinted for, or on, this node or zone), a subset of
    /// <see cref="Reachable"/> in its order; <see cref="Reachable"/> itself when no rule narrows it. Empty exactly when
    /// <see cref="Reachable"/> is.
    /// </summary>
    public ImmutableArray<EndpointTarget> Targets { get; }

    /// <summary>The rule that decided <see cref="Targets"/>.</summary>
    public TopologyRule Rule { get; }

    /// <summary>
    /// Why <see cref="Reachable"/> is empty under <c>internalTrafficPolicy: Local</c>: a <see cref="NoReadyEndpointsException"/> naming
    /// this node (the port has endpoints on other nodes only, or none), or a <see cref="NodeNameUnknownException"/> saying how to set
    /// the node name. <see langword="null"/> otherwise.
    /// </summary>
    public DiscoveryException? Failure { get; }
}
