using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// What every endpoint source of one watcher needs to turn what it read into a snapshot: the next version, the address
/// mode, the ExternalName form, and the published snapshot's endpoint instances (kept across versions). Returns data only.
/// Used under the watcher's build turn (it reads the publisher's version and current snapshot).
/// </summary>
/// <remarks>
/// A value made for each build (<see cref="ServiceWatcher.CreateBuilder"/>), not an object each watcher keeps: everything it
/// holds is the watcher's already, and 10,000 watchers should not each carry a copy of those references.
/// </remarks>
internal readonly struct ServiceSnapshotBuilder(ServiceKey key, WatcherContext context, SnapshotPublisher publisher, RejectionLog rejections)
{
    public ServiceKey Key => key;

    /// <summary>Logs what a projection or conversion left out (once per object version).</summary>
    public RejectionLog Rejections => rejections;

    /// <summary>The Service does not exist (yet): a snapshot that says so.</summary>
    public ServiceEndpointSnapshot Absent(EndpointSourceKind source, string? resourceVersion)
        => Create(false, null, source, [], resourceVersion);

    /// <summary>Endpoints from Pods (a pod selector, no Service).</summary>
    public ServiceEndpointSnapshot FromPods(ImmutableArray<ServiceEndpoint> pods, string? resourceVersion)
        => Create(true, null, EndpointSourceKind.Pods, pods, resourceVersion);

    /// <summary>An ExternalName Service: its one "endpoint" is the external name, whichever source watches it.</summary>
    public ServiceEndpointSnapshot ExternalName(KubernetesServiceInfo info)
    {
        var ports = info.Ports.Select(p => new EndpointPort(p.Name, p.Port, p.Protocol, p.AppProtocol)).ToImmutableArray();
        ImmutableArray<ServiceEndpoint> external = string.IsNullOrEmpty(info.ExternalName)
            ? []
            : [new ServiceEndpoint(info.ExternalName.TrimEnd('.'), KubernetesObjectConverter.FamilyOf(info.ExternalName), ports, true, true, false)];
        return Create(true, info, EndpointSourceKind.ExternalName, external, info.ResourceVersion);
    }

    /// <summary>A Service with its endpoints, after the configured address mode.</summary>
    public async ValueTask<ServiceEndpointSnapshot> WithEndpointsAsync(
        KubernetesServiceInfo info, EndpointSourceKind source, ImmutableArray<ServiceEndpoint> endpoints, string? resourceVersion, CancellationToken cancellationToken)
    {
        endpoints = await ApplyAddressModeAsync(info, endpoints, cancellationToken).ConfigureAwait(false);
        return Create(true, info, source, endpoints, resourceVersion);
    }

    private ServiceEndpointSnapshot Create(bool exists, KubernetesServiceInfo? info, EndpointSourceKind source, ImmutableArray<ServiceEndpoint> endpoints, string? resourceVersion)
        => new(key, exists, info, source, Intern(endpoints), publisher.NextVersion, resourceVersion, context.TimeProvider.GetUtcNow(), context.Options.IncludeNotReadyEndpoints);

    /// <summary>
    /// <paramref name="endpoints"/> with unchanged members replaced by the published snapshot's instances (state that
    /// callers key on the instance, such as passive health and in-flight counts, survives unrelated changes to the set).
    /// </summary>
    private ImmutableArray<ServiceEndpoint> Intern(ImmutableArray<ServiceEndpoint> endpoints)
        => EndpointInterner.Reuse(publisher.Current?.Endpoints ?? [], endpoints);

    private async ValueTask<ImmutableArray<ServiceEndpoint>> ApplyAddressModeAsync(KubernetesServiceInfo info, ImmutableArray<ServiceEndpoint> pods, CancellationToken cancellationToken)
    {
        var configured = context.Options.AddressMode;
        var mode = AddressModeApplier.Resolve(configured, context.IsInCluster, info);
        switch (mode)
        {
            case AddressMode.LoadBalancer:
                if (AddressModeApplier.ToLoadBalancer(info, pods) is { } balanced)
                {
                    return balanced;
                }

                DiscoveryLog.AddressModeNotApplicable(context.Logger, configured, key.Namespace, key.Name, "the Service has no load balancer ingress");
                return pods;
            case AddressMode.NodePort:
                var nodes = await context.Nodes.GetAsync(configured, cancellationToken).ConfigureAwait(false);
                if (nodes is null)
                {
                    return pods;
                }

                if (AddressModeApplier.ToNodePorts(info, pods, nodes) is { } nodePorts)
                {
                    return nodePorts;
                }

                DiscoveryLog.AddressModeNotApplicable(context.Logger, configured, key.Namespace, key.Name, "the Service has no node ports");
                return pods;
            default:
                return pods;
        }
    }
}
