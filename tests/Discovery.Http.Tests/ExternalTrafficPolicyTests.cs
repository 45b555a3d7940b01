using Discovery.Testing;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using static Discovery.Http.Tests.KubeProxyCluster;

namespace Discovery.Http.Tests;

/// <summary>
/// <c>externalTrafficPolicy</c> in the NodePort address mode, through the emulator and the stock client: each "node" is a
/// Kestrel server on its own loopback address, all on the Service's node port; the pods' own addresses are never contacted.
/// </summary>
public sealed class ExternalTrafficPolicyTests
{
    private static async Task<Backend[]> StartNodesAsync(int count)
    {
        // One port number on several loopback addresses, as a node port is the same on every node.
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(30000, 32768);
            var started = new List<Backend>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    started.Add(await Backend.StartAsync($"node-{i}", port: port));
                }

                return [.. started];
            }
            catch (IOException) when (attempt < 20)
            {
                await DisposeAllAsync(started);
            }
        }
    }

    private static async Task<EmulatedCluster> StartAsync(Backend[] nodes, string externalTrafficPolicy)
    {
        var cluster = await EmulatedCluster.StartAsync(
            s => s.AddHttpClient("c").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin),
            o => o.AddressMode = AddressMode.NodePort);
        foreach (var node in nodes)
        {
            cluster.ApplyNode(node.Name, zone: null, address: node.Address);
        }

        var service = EmulatorObjects.Service("default", "edge", new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080, NodePort = nodes[0].Port, Protocol = "TCP" });
        service.Spec.Type = "NodePort";
        service.Spec.ExternalTrafficPolicy = externalTrafficPolicy;
        cluster.Emulator.Apply(service);

        // node-0 hosts a ready pod, node-1 only a not-ready one, node-2 a ready one.
        var pods = new (string Address, string Node, bool Ready)[] { ("10.244.0.5", "node-0", true), ("10.244.1.5", "node-1", false), ("10.244.2.5", "node-2", true) };
        cluster.Emulator.Apply(EmulatorObjects.EndpointSlice(
            "default", "edge", "edge-pods", "IPv4",
            pods.Select(p => EmulatorObjects.Endpoint(p.Address, ready: p.Ready, nodeName: p.Node)),
            EmulatorObjects.SlicePort(8080, "http")));
        return cluster;
    }

    [Fact]
    public async Task External_traffic_policy_Local_sends_only_to_nodes_hosting_a_ready_endpoint()
    {
        var nodes = await StartNodesAsync(3);
        await using var cluster = await StartAsync(nodes, "Local");
        await cluster.WaitForSnapshotAsync("edge", s => s.Endpoints.Length == 3);

        await SendAsync(cluster.Client("c"), "edge", 10);

        Assert.Equal([5, 0, 5], nodes.Select(x => x.Requests));
        await DisposeAllAsync(nodes);
    }

    [Fact]
    public async Task External_traffic_policy_Cluster_uses_every_node_hosting_an_endpoint_as_any_node_forwards()
    {
        var nodes = await StartNodesAsync(3);
        await using var cluster = await StartAsync(nodes, "Cluster");
        await cluster.WaitForSnapshotAsync("edge", s => s.Endpoints.Length == 3);

        await SendAsync(cluster.Client("c"), "edge", 9);

        Assert.Equal([3, 3, 3], nodes.Select(x => x.Requests));
        await DisposeAllAsync(nodes);
    }
}
