using System.Collections.Immutable;
using Discovery.Internal;
using k8s;
using k8s.Models;

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

        var interners = new EndpointInterner[size];
        var snapshots = new ServiceEndpointSnapshot[size];
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < size; i++)
        {
            interners[i] = new EndpointInterner();
            var info = KubernetesObjectConverter.ToServiceInfo(services[i]);
            var endpoints = interners[i].Intern(KubernetesObjectConverter.FromSlices([slices[i]]));
            snapshots[i] = new ServiceEndpointSnapshot(new ServiceKey(EmulatorHost.Namespace, services[i].Metadata.Name), true, info, EndpointSourceKind.EndpointSlices, endpoints, 1, "1", now);
        }

        Row("snapshots (ServiceInfo, 10 ServiceEndpoint) + interner", ref baseline);
        GC.KeepAlive(slices);
        GC.KeepAlive(services);
        GC.KeepAlive(snapshots);
        GC.KeepAlive(interners);
        report.Note("Each row: GC.GetTotalMemory delta (forced full compacting collections) after creating that layer while holding the ones above it.");
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
