using System.Collections.Immutable;
using System.Net.Sockets;

namespace Discovery.Http.Tests;

/// <summary>
/// The kube-proxy rules of <see cref="TopologyFilter"/> that the emulator cannot reach (it validates as a v1.33 server with
/// default feature gates, which refuses <c>trafficDistribution: PreferSameNode</c>), checked on the filter itself.
/// </summary>
public sealed class TopologyFilterTests
{
    private static readonly ServiceKey Key = new("default", "svc");

    private static ServiceEndpoint Endpoint(int i, string? node, string? zone, bool ready = true, string[]? forZones = null, string[]? forNodes = null)
        => new($"10.1.0.{i}", AddressFamily.InterNetwork, [new EndpointPort("http", 8080, "TCP", null)], ready, ready, false, zone, node, $"pod-{i}", null,
            forZones is null ? default : [.. forZones], forNodes is null ? default : [.. forNodes]);

    private static string[] Preferred(string? distribution, string? node, string? zone, params ServiceEndpoint[] endpoints)
    {
        var info = new KubernetesServiceInfo("ClusterIP", "10.96.0.1", true, null, [new ServicePortInfo("http", 80, "8080", "TCP", null, null)], [], "1") { TrafficDistribution = distribution };
        var snapshot = new ServiceEndpointSnapshot(Key, true, info, EndpointSourceKind.EndpointSlices, [.. endpoints], 1, "1", DateTimeOffset.UtcNow, includeNotReady: true);
        var selection = new PortSelection(snapshot, "http", 80, null, [.. endpoints.Select(e => new EndpointTarget(e, 8080))]);
        var choice = TopologyFilter.Choose(selection, node, zone, configuredZone: null, preferLocal: true, minLocalZoneShare: 0.2);
        return choice.Preferred is null ? [] : [.. choice.Reachable.Where((_, i) => choice.Preferred[i]).Select(t => t.Endpoint.PodName!)];
    }

    [Fact]
    public void PreferSameNode_without_hints_prefers_this_nodes_endpoints()
        => Assert.Equal(["pod-2"], Preferred("PreferSameNode", "node-b", "zone-a", Endpoint(1, "node-a", "zone-a"), Endpoint(2, "node-b", "zone-a"), Endpoint(3, "node-c", "zone-b")));

    [Fact]
    public void PreferSameNode_without_an_endpoint_on_this_node_falls_back_to_the_zone()
        => Assert.Equal(["pod-1", "pod-2"], Preferred("PreferSameNode", "node-x", "zone-a", Endpoint(1, "node-a", "zone-a"), Endpoint(2, "node-b", "zone-a"), Endpoint(3, "node-c", "zone-b")));

    [Fact]
    public void PreferClose_is_ignored_when_an_endpoint_has_no_zone_as_the_controller_then_writes_no_hints()
        => Assert.Empty(Preferred("PreferClose", "node-a", "zone-a", Endpoint(1, "node-a", "zone-a"), Endpoint(2, "node-b", null)));

    [Fact]
    public void Hints_are_decided_over_ready_endpoints_only_and_only_ready_ones_are_preferred()
        => Assert.Equal(["pod-1"], Preferred(null, "node-a", "zone-a",
            Endpoint(1, "node-a", "zone-a", forZones: ["zone-a"]),
            Endpoint(2, "node-b", "zone-b", forZones: ["zone-b"]),
            Endpoint(3, "node-c", "zone-a", ready: false)));

    [Fact]
    public void Node_hints_on_some_endpoints_only_are_ignored_and_zone_hints_decide()
        => Assert.Equal(["pod-1", "pod-2"], Preferred(null, "node-a", "zone-a",
            Endpoint(1, "node-a", "zone-a", forZones: ["zone-a"], forNodes: ["node-a"]),
            Endpoint(2, "node-b", "zone-a", forZones: ["zone-a"]),
            Endpoint(3, "node-c", "zone-b", forZones: ["zone-b"])));

    [Fact]
    public void When_every_endpoint_is_preferred_there_is_no_preference()
        => Assert.Empty(Preferred("PreferClose", "node-a", "zone-a", Endpoint(1, "node-a", "zone-a"), Endpoint(2, "node-b", "zone-a")));
}
