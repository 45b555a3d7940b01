using System.Globalization;
using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s.Models;

namespace Discovery.Tests;

/// <summary>
/// What informers hold instead of the client's typed objects: EndpointSlices projected onto their endpoints (the
/// instances snapshots publish), Services onto their info, repeated strings shared through a bounded pool.
/// </summary>
public class ProjectionTests
{
    [Fact]
    public void A_new_version_of_a_slice_keeps_the_instances_of_its_unchanged_endpoints()
    {
        var first = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "s", ("10.1.0.1", true), ("10.1.0.2", true)));
        var relabelled = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "s", ("10.1.0.1", true), ("10.1.0.2", true)), first);
        var changed = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "s", ("10.1.0.1", true), ("10.1.0.2", false), ("10.1.0.3", true)), relabelled);

        Assert.Equal("alpaca-prod", first.ServiceName);
        // Nothing discovery reads changed: the very same array.
        Assert.True(first.Endpoints == relabelled.Endpoints);
        Assert.Same(first.Endpoints[0], changed.Endpoints[0]);
        Assert.NotSame(first.Endpoints[1], changed.Endpoints[1]);
        Assert.False(changed.Endpoints[1].IsReady);
        Assert.True(first.Endpoints[0].Ports == changed.Endpoints[2].Ports);
    }

    [Fact]
    public void A_single_slice_is_published_as_it_is_and_merging_slices_keeps_first_seen_order()
    {
        var a = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "a", ("10.1.0.1", true), ("10.1.0.2", false)));
        var b = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "b", ("10.1.0.2", true), ("10.1.0.3", true)));

        Assert.True(KubernetesObjectConverter.Merge([a]) == a.Endpoints);
        var merged = KubernetesObjectConverter.Merge([a, b]);
        Assert.Equal(["10.1.0.1", "10.1.0.2", "10.1.0.3"], merged.Select(e => e.Address));
        // The duplicate keeps its first position and its most usable version (ready, from slice b).
        Assert.Same(b.Endpoints[0], merged[1]);
        Assert.Equal(
            KubernetesObjectConverter.FromSlices([Fixtures.Slice("alpaca-prod", "b", ("10.1.0.2", true), ("10.1.0.3", true)), Fixtures.Slice("alpaca-prod", "a", ("10.1.0.1", true), ("10.1.0.2", false))]).Select(e => (e.Address, e.IsReady)),
            merged.Select(e => (e.Address, e.IsReady)));
    }

    [Fact]
    public void Reuse_returns_the_earlier_array_when_every_endpoint_is_unchanged()
    {
        var earlier = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "a", ("10.1.0.1", true), ("10.1.0.2", true))).Endpoints;
        var rebuilt = KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "a", ("10.1.0.2", true), ("10.1.0.1", true))).Endpoints;

        var reordered = EndpointInterner.Reuse(earlier, rebuilt);

        Assert.Same(earlier[1], reordered[0]);
        Assert.Same(earlier[0], reordered[1]);
        Assert.True(EndpointInterner.Reuse(earlier, [earlier[0], earlier[1]]) == earlier);
        Assert.True(EndpointInterner.Reuse([], rebuilt) == rebuilt);
    }

    [Fact]
    public void Zone_node_and_port_strings_are_shared_and_the_pool_is_bounded()
    {
        var pool = new StringPool();
        V1EndpointSlice Slice(string name, string address)
        {
            var slice = Fixtures.Slice("alpaca-prod", name, (address, true));
            slice.Endpoints[0].Zone = new string("zone-a".ToCharArray());
            slice.Endpoints[0].NodeName = new string("node-1".ToCharArray());
            slice.Ports[0].Name = new string("http".ToCharArray());
            return slice;
        }

        var a = KubernetesObjectConverter.ProjectSlice(Slice("a", "10.1.0.1"), null, pool).Endpoints.Single();
        var b = KubernetesObjectConverter.ProjectSlice(Slice("b", "10.1.0.2"), null, pool).Endpoints.Single();

        Assert.Same(a.Zone, b.Zone);
        Assert.Same(a.NodeName, b.NodeName);
        Assert.Same(a.Ports[0].Name, b.Ports[0].Name);

        var longName = new string('n', StringPool.MaxLength + 1);
        Assert.NotSame(pool.Get(new string(longName.ToCharArray())), pool.Get(new string(longName.ToCharArray())));
        for (var i = 0; i < StringPool.MaxStrings + 10; i++)
        {
            pool.Get(i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(StringPool.MaxStrings, pool.Count);
        Assert.Same(a.Zone, pool.Get("zone-a"));
    }

    [Fact]
    public void What_a_projection_leaves_out_is_logged_by_each_watcher_once_per_version()
    {
        using var logs = new TestLogs();
        var slice = Fixtures.Slice("alpaca-prod", "s", ("not-an-ip", true), ("10.1.0.1", true));
        slice.Metadata.ResourceVersion = "7";
        var projection = KubernetesObjectConverter.ProjectSlice(slice);
        var alpaca = new RejectionLog(logs.Factory.CreateLogger("alpaca"), new ServiceKey("demo", "alpaca-prod"));

        Assert.Equal(["10.1.0.1"], projection.Endpoints.Select(e => e.Address));
        Assert.NotNull(projection.Issues);
        KubernetesObjectConverter.Merge([projection], alpaca);
        KubernetesObjectConverter.Merge([projection], alpaca);

        var record = Assert.Single(logs.Collector.GetSnapshot());
        Assert.Contains("Skipped 1 invalid entries of EndpointSlice", record.Message, StringComparison.Ordinal);
        Assert.Contains("resourceVersion 7", record.Message, StringComparison.Ordinal);
        Assert.Null(KubernetesObjectConverter.ProjectSlice(Fixtures.Slice("alpaca-prod", "ok", ("10.1.0.1", true))).Issues);
    }

    [Fact]
    public void The_kube_proxy_fields_of_a_Service_are_carried_into_its_info()
    {
        var service = new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "alpaca-prod", NamespaceProperty = "default", ResourceVersion = "1" },
            Spec = new V1ServiceSpec
            {
                Ports = [new V1ServicePort { Port = 80 }],
                InternalTrafficPolicy = "Local",
                ExternalTrafficPolicy = "Local",
                TrafficDistribution = "PreferClose",
                SessionAffinity = "ClientIP",
                SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 60 } },
            },
        };
        var plain = new V1Service { Metadata = service.Metadata, Spec = new V1ServiceSpec { Ports = service.Spec.Ports, SessionAffinity = "None", InternalTrafficPolicy = "Cluster" } };
        var defaulted = new V1Service { Metadata = service.Metadata, Spec = new V1ServiceSpec { Ports = service.Spec.Ports, SessionAffinity = "ClientIP" } };

        var info = KubernetesObjectConverter.ProjectService(service).Info;
        var plainInfo = KubernetesObjectConverter.ProjectService(plain).Info;

        Assert.Equal(TrafficPolicy.Local, info.InternalTrafficPolicy);
        Assert.Equal(TrafficPolicy.Local, info.ExternalTrafficPolicy);
        Assert.Equal("PreferClose", info.TrafficDistribution);
        Assert.Equal(TimeSpan.FromSeconds(60), info.SessionAffinityTimeout);
        Assert.Equal(TimeSpan.FromHours(3), KubernetesObjectConverter.ProjectService(defaulted).Info.SessionAffinityTimeout);
        Assert.Equal((TrafficPolicy.Cluster, TrafficPolicy.Cluster, (string?)null, (TimeSpan?)null), (plainInfo.InternalTrafficPolicy, plainInfo.ExternalTrafficPolicy, plainInfo.TrafficDistribution, plainInfo.SessionAffinityTimeout));
    }

    [Fact]
    public void A_timeout_the_API_would_refuse_is_reported_and_replaced_by_the_default()
    {
        var service = new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "alpaca-prod", NamespaceProperty = "default", ResourceVersion = "1" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 80 }], SessionAffinity = "ClientIP", SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 90_000 } } },
        };

        var projection = KubernetesObjectConverter.ProjectService(service);

        Assert.Equal(TimeSpan.FromHours(3), projection.Info.SessionAffinityTimeout);
        Assert.NotNull(projection.Issues);
    }

    [Fact]
    public void Node_and_zone_hints_are_projected_and_a_single_hint_shares_one_array()
    {
        var slice = Fixtures.Slice("alpaca-prod", "s", ("10.1.0.1", true), ("10.1.0.2", true), ("10.1.0.3", true));
        for (var i = 0; i < slice.Endpoints.Count; i++)
        {
            slice.Endpoints[i].NodeName = i < 2 ? "node-a" : "node-b";
            slice.Endpoints[i].Hints = new V1EndpointHints { ForNodes = [new V1ForNode { Name = i < 2 ? "node-a" : "node-b" }], ForZones = [new V1ForZone { Name = "zone-a" }] };
        }

        var endpoints = KubernetesObjectConverter.ProjectSlice(slice, pool: new StringPool()).Endpoints;

        Assert.Equal(["node-a", "node-a", "node-b"], endpoints.Select(e => e.NodeHints.Single()));
        Assert.All(endpoints, e => Assert.Equal("zone-a", e.ZoneHints.Single()));
        Assert.True(endpoints[0].NodeHints == endpoints[1].NodeHints);
        Assert.True(endpoints[0].ZoneHints == endpoints[2].ZoneHints);
    }
}
