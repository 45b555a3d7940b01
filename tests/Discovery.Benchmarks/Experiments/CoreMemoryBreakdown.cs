using Discovery.Internal;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Benchmarks.Experiments;

/// <summary>
/// Issue #3: where a Service's managed memory goes in <see cref="WatchScope.Namespace"/>. Lists N Services x 10 endpoints
/// from a child emulator and measures, with forced full collections, what holding each layer costs per Service: the
/// client's typed objects (as the stock client returns them, and trimmed), the informers' projections, and the snapshots.
/// </summary>
internal static class CoreMemoryBreakdown
{
    public static async Task<Report> RunAsync(ExperimentArgs args)
    {
        var size = args.Int("services", 10_000);
        var report = new Report().Columns("layer", "total", "per Service");
        await using var child = await ChildEmulator.StartAsync();
        await child.SendAsync($"populate {size} 10");
        using var client = child.CreateClient();

        var baseline = Measure.ManagedBytesAfterFullGc();
        var slices = (await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(EmulatorHost.Namespace)).Items.ToArray();
        Row("typed EndpointSlices as listed", ref baseline);
        foreach (var slice in slices)
        {
            slice.Metadata.ManagedFields = null;
            slice.Metadata.Annotations = null;
        }

        Row("  … after dropping managedFields and annotations (freed)", ref baseline);
        var services = (await client.CoreV1.ListNamespacedServiceAsync(EmulatorHost.Namespace)).Items.ToArray();
        foreach (var service in services)
        {
            service.Metadata.ManagedFields = null;
            service.Metadata.Annotations = null;
        }

        Row("typed Services, trimmed", ref baseline);

        // What the informers hold now: projections (EndpointSlices: their ServiceEndpoints; Services: their info), and the
        // snapshots built from them, which share the projections' endpoint instances and arrays.
        var pool = new StringPool();
        var sliceProjections = slices.Select(s => KubernetesObjectConverter.ProjectSlice(s, null, pool)).ToArray();
        Row("EndpointSlice projections (10 ServiceEndpoint each)", ref baseline);
        var serviceProjections = services.Select(s => KubernetesObjectConverter.ProjectService(s, pool)).ToArray();
        Row("Service projections (KubernetesServiceInfo)", ref baseline);
        var now = DateTimeOffset.UtcNow;
        var snapshots = new ServiceEndpointSnapshot[size];
        for (var i = 0; i < size; i++)
        {
            var endpoints = EndpointInterner.Reuse([], KubernetesObjectConverter.Merge([sliceProjections[i]]));
            snapshots[i] = new ServiceEndpointSnapshot(new ServiceKey(EmulatorHost.Namespace, services[i].Metadata.Name), true, serviceProjections[i].Info, EndpointSourceKind.EndpointSlices, endpoints, 1, "1", now);
        }

        Row("snapshots built from the projections (shared endpoints)", ref baseline);
        var context = new WatcherContext(new KubernetesDiscoveryOptions(), () => throw new InvalidOperationException("not used"), TimeProvider.System, NullLogger.Instance, new DiscoveryMetrics(null, () => []), isInCluster: true, "default");
        var watchers = Enumerable.Range(0, size).Select(i => new ServiceWatcher(new ServiceKey(EmulatorHost.Namespace, EmulatorHost.ServiceName(i)), context, null, pinned: false)).ToArray();
        Row("ServiceWatcher objects (not started; with their Service names)", ref baseline);
        GC.KeepAlive(slices);
        GC.KeepAlive(services);
        GC.KeepAlive(watchers);
        GC.KeepAlive(sliceProjections);
        GC.KeepAlive(serviceProjections);
        GC.KeepAlive(snapshots);
        report.Note("Each row: GC.GetTotalMemory delta (forced full compacting collections) after creating that layer while holding the ones above it.");
        report.Note("Before the projections, the informers held the trimmed typed objects (first three rows) and each snapshot its own ServiceEndpoints; now they hold the projections, and snapshots share their endpoints. The rest of a Service's cost in core-scale is its watcher, the informers' dictionaries and the namespace index.");
        return report;

        void Row(string layer, ref long before)
        {
            var after = Measure.ManagedBytesAfterFullGc();
            var delta = after - before;
            report.Row(layer, $"{Measure.Mb(delta):0.0} MB", $"{delta / size:N0} B");
            before = after;
        }
    }
}
