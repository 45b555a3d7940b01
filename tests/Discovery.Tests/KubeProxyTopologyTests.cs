using System.Collections.Immutable;
using System.Net.Sockets;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Tests;

/// <summary>
/// The contract the adapters rely on: <see cref="KubeProxyTopology"/> narrows a port's endpoints to what kube-proxy on this
/// node would use (<see cref="TopologySelection.Targets"/>), keeps what the traffic policy allows (<see cref="TopologySelection.Reachable"/>),
/// and says why a node-local Service has nothing (<see cref="TopologySelection.Failure"/>). The HTTP package's topology tests
/// cover the hint rules through the handler.
/// </summary>
public sealed class KubeProxyTopologyTests
{
    private static readonly ServiceKey Key = new("default", "svc");

    private static ServiceEndpoint Endpoint(int i, string? node, string? zone = null, bool ready = true, bool terminating = false, string[]? forZones = null)
        => new($"10.1.0.{i}", AddressFamily.InterNetwork, [new EndpointPort("http", 8080, "TCP", null)], ready, ready || terminating, terminating, zone, node, $"pod-{i}", null,
            forZones is null ? default : [.. forZones], default);

    private static PortSelection Port(string? internalPolicy, string? distribution, params ServiceEndpoint[] endpoints)
    {
        var info = new KubernetesServiceInfo("ClusterIP", "10.96.0.1", true, null, [new ServicePortInfo("http", 80, "8080", "TCP", null, null)], [], "1")
        {
            InternalTrafficPolicy = internalPolicy == "Local" ? TrafficPolicy.Local : TrafficPolicy.Cluster,
            TrafficDistribution = distribution,
        };
        var snapshot = new ServiceEndpointSnapshot(Key, true, info, EndpointSourceKind.EndpointSlices, [.. endpoints], 1, "1", DateTimeOffset.UtcNow);
        return snapshot.SelectPort(uriPort: null, portName: null, scheme: "http", defaultPortName: null);
    }

    private static string[] Pods(ImmutableArray<EndpointTarget> targets) => [.. targets.Select(t => t.Endpoint.PodName!)];

    [Fact]
    public void Local_keeps_only_this_nodes_endpoints()
    {
        var choice = KubeProxyTopology.Select(Port("Local", null, Endpoint(1, "node-a"), Endpoint(2, "node-b"), Endpoint(3, "node-a")), "node-a", null);

        Assert.Equal(TopologyRule.LocalNode, choice.Rule);
        Assert.Equal(["pod-1", "pod-3"], Pods(choice.Targets));
        Assert.Equal(["pod-1", "pod-3"], Pods(choice.Reachable));
        Assert.Null(choice.Failure);
    }

    [Fact]
    public void Local_without_an_endpoint_on_this_node_is_a_failure_naming_the_node()
    {
        var choice = KubeProxyTopology.Select(Port("Local", null, Endpoint(1, "node-b"), Endpoint(2, "node-c")), "node-a", null);

        Assert.Empty(choice.Targets);
        var failure = Assert.IsType<NoReadyEndpointsException>(choice.Failure);
        Assert.Equal("node-a", failure.NodeName);
        Assert.Contains("2 on other nodes", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_with_an_unknown_node_is_a_failure_saying_how_to_set_it()
    {
        var choice = KubeProxyTopology.Select(Port("Local", null, Endpoint(1, "node-a")), nodeName: null, zone: null);

        Assert.Empty(choice.Targets);
        Assert.IsType<NodeNameUnknownException>(choice.Failure);
    }

    [Fact]
    public void Local_falls_back_to_this_nodes_serving_terminating_endpoint_while_other_nodes_have_ready_ones()
    {
        var choice = KubeProxyTopology.Select(Port("Local", null, Endpoint(1, "node-a", ready: false, terminating: true), Endpoint(2, "node-b")), "node-a", null);

        Assert.Equal(["pod-1"], Pods(choice.Targets));
        Assert.Null(choice.Failure);
    }

    [Fact]
    public void Zone_hints_narrow_the_targets_but_not_what_is_reachable_and_can_be_switched_off()
    {
        var port = Port(null, null, Endpoint(1, "n1", "zone-a", forZones: ["zone-a"]), Endpoint(2, "n2", "zone-b", forZones: ["zone-b"]));

        var choice = KubeProxyTopology.Select(port, "n9", "zone-a");
        var off = KubeProxyTopology.Select(port, "n9", "zone-a", applyTopology: false);

        Assert.Equal(TopologyRule.ZoneHints, choice.Rule);
        Assert.Equal(["pod-1"], Pods(choice.Targets));
        Assert.Equal(["pod-1", "pod-2"], Pods(choice.Reachable));
        Assert.Equal(TopologyRule.None, off.Rule);
        Assert.Equal(["pod-1", "pod-2"], Pods(off.Targets));
    }

    [Fact]
    public void Without_a_rule_the_targets_are_the_port_selections()
    {
        var port = Port(null, null, Endpoint(1, "n1", "zone-a"), Endpoint(2, "n2", "zone-b"));

        var choice = KubeProxyTopology.Select(port, "n1", "zone-a");

        Assert.Equal(TopologyRule.None, choice.Rule);
        Assert.Equal(port.Targets, choice.Targets);
        Assert.Same(port, choice.PortSelection);
    }

    [Fact]
    public async Task SelectAsync_waits_for_the_nodes_zone_when_a_rule_needs_it_and_asks_for_no_node_otherwise()
    {
        var lookups = 0;
        var answer = new TaskCompletionSource<V1Node>(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = new LocalNode("node-a", zone: null, (_, _) => { Interlocked.Increment(ref lookups); return answer.Task; }, TimeProvider.System, NullLogger.Instance, TimeSpan.FromMinutes(5));

        var plain = await KubeProxyTopology.SelectAsync(Port(null, null, Endpoint(1, "node-b", "zone-a"), Endpoint(2, "node-c", "zone-b")), node, TestContext.Current.CancellationToken);
        Assert.Equal(0, lookups);
        Assert.Equal(TopologyRule.None, plain.Rule);

        var pending = KubeProxyTopology.SelectAsync(Port(null, "PreferClose", Endpoint(1, "node-b", "zone-a"), Endpoint(2, "node-c", "zone-b")), node, TestContext.Current.CancellationToken);
        Assert.False(pending.IsCompleted);
        answer.SetResult(new V1Node { Metadata = new V1ObjectMeta { Name = "node-a", Labels = new Dictionary<string, string> { [LocalNode.ZoneLabel] = "zone-a" } } });
        var close = await pending;

        Assert.Equal(1, lookups);
        Assert.Equal(TopologyRule.SameZone, close.Rule);
        Assert.Equal(["pod-1"], Pods(close.Targets));
    }
}
