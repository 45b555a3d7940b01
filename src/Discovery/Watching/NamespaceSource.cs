namespace Discovery.Internal;

/// <summary>
/// The namespace's shared watch (<see cref="NamespaceWatch"/>) as an endpoint source: builds a member Service's snapshot
/// from the namespace's Services and its slice index. Starts and stops nothing (the namespace watch lives as long as it has
/// members). Holds nothing per Service (the Service comes with the builder), so the watch has one, shared by all its
/// members (<see cref="NamespaceWatch.Source"/>): 10,000 watchers in one namespace do not carry 10,000 of them.
/// </summary>
internal sealed class NamespaceSource(NamespaceWatch watch) : IEndpointSource
{
    public NamespaceWatch Watch => watch;

    public async ValueTask<SourceBuild> BuildAsync(ServiceSnapshotBuilder builder, CancellationToken cancellationToken)
    {
        if (!watch.ServicesListed)
        {
            return SourceBuild.NotReady;
        }

        var key = builder.Key;
        var service = watch.FindService(key.Name);
        if (service is null)
        {
            return builder.Absent(EndpointSourceKind.EndpointSlices, watch.Services.ResourceVersion);
        }

        builder.Rejections.Report(service.Issues);
        var info = service.Info;
        if (info.IsExternalName)
        {
            return builder.ExternalName(info);
        }

        if (!info.HasSelector)
        {
            // A selectorless Service's hand-made Endpoints need the Endpoints mirror, which the namespace watch does not
            // hold: this Service is watched on its own (three streams), the rest of the namespace stays shared.
            return SourceBuild.CannotServe;
        }

        if (!watch.SlicesSynced)
        {
            return SourceBuild.NotReady;
        }

        var endpoints = KubernetesObjectConverter.Merge(watch.SlicesOf(key.Name), builder.Rejections);
        return await builder.WithEndpointsAsync(info, EndpointSourceKind.EndpointSlices, endpoints, watch.Slices.ResourceVersion, cancellationToken).ConfigureAwait(false);
    }
}
