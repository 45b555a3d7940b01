using k8s.Models;

namespace Discovery.Http.Tests;

/// <summary>Applies Services with kube-proxy fields and slices with node, zone and hints to an <see cref="EmulatedCluster"/>.</summary>
public static class KubeProxyCluster
{
    /// <summary>Applies a Service with one port named <c>http</c>, adjusted by <paramref name="spec"/>.</summary>
    public static void ApplyService(this EmulatedCluster cluster, string name, Action<V1ServiceSpec> spec)
    {
        var service = EmulatorObjects.Service("default", name, EmulatorObjects.ServicePort(80, "http"));
        spec(service.Spec);
        cluster.Emulator.Apply(service);
    }

    /// <summary>Applies the slice of one backend (one slice per backend, as each listens on its own port).</summary>
    public static void ApplyPod(this EmulatedCluster cluster, string service, Backend backend, string? node = null, string? zone = null, string[]? forZones = null, string[]? forNodes = null, bool ready = true, bool terminating = false)
    {
        var endpoint = cluster.EndpointOf(backend, ready: ready, serving: ready || terminating, terminating: terminating, zone: zone, nodeName: node);
        if (forZones is not null || forNodes is not null)
        {
            endpoint.Hints = new V1EndpointHints
            {
                ForZones = forZones?.Select(z => new V1ForZone { Name = z }).ToList(),
                ForNodes = forNodes?.Select(n => new V1ForNode { Name = n }).ToList(),
            };
        }

        cluster.ApplySlice(service, EmulatedCluster.SliceName(service, backend), endpoint, backend.Port);
    }

    /// <summary>Applies a node with a zone label.</summary>
    public static void ApplyNode(this EmulatedCluster cluster, string name, string? zone, string? address = null)
    {
        var node = new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta { Name = name, Labels = zone is null ? null : new Dictionary<string, string> { [LocalNode.ZoneLabel] = zone } },
            Status = address is null ? null : new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = address }] },
        };
        cluster.Emulator.Apply(node);
    }

    public static async Task<Backend[]> StartBackendsAsync(int count, string prefix = "pod")
        => await Task.WhenAll(Enumerable.Range(0, count).Select(i => Backend.StartAsync($"{prefix}-{i}")));

    public static async Task SendAsync(HttpClient client, string host, int count)
    {
        for (var i = 0; i < count; i++)
        {
            (await client.GetAsync($"http://{host}/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }
    }

    public static async Task DisposeAllAsync(IEnumerable<Backend> backends)
        => await Task.WhenAll(backends.Select(b => b.DisposeAsync().AsTask()));
}
