using System.Net.Sockets;
using Discovery.Internal;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

public class SnapshotModelTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 20, 0, 0, TimeSpan.Zero);

    private static ServiceEndpointSnapshot Snapshot(IEnumerable<ServiceEndpoint> endpoints, bool includeNotReady = false)
        => new(new ServiceKey("demo", "alpaca-prod"), true, null, EndpointSourceKind.EndpointSlices, [.. endpoints], 1, "1", Now, includeNotReady);

    private static ServiceEndpoint Endpoint(string address, bool ready, bool serving, bool terminating)
        => new(address, AddressFamily.InterNetwork, [new EndpointPort("http", 8080, "TCP", null)], ready, serving, terminating);

    [Fact]
    public void Fixture_slices_merge_with_absent_conditions_counted_as_ready()
    {
        var endpoints = KubernetesObjectConverter.FromSlices([Fixtures.AlpacaSlice7xkqp(), Fixtures.AlpacaSliceM2r9d()]);
        var snapshot = Snapshot(endpoints);

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.14", "10.1.0.15", "10.1.0.16"], endpoints.Select(e => e.Address));
        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], snapshot.UsableEndpoints.Select(e => e.Address));
        Assert.Equal(3, snapshot.ReadyCount);
        Assert.Equal(1, snapshot.NotReadyCount);
        Assert.Equal(2, snapshot.TerminatingCount);
        Assert.False(snapshot.UsesTerminatingFallback);
        var fifteen = endpoints.Single(e => e.Address == "10.1.0.15");
        Assert.True(fifteen.IsServing);
        Assert.False(fifteen.IsTerminating);
        var eleven = endpoints.Single(e => e.Address == "10.1.0.11");
        Assert.Equal("us-east-1a", eleven.Zone);
        Assert.NotNull(eleven.PodName);
        Assert.NotNull(eleven.NodeName);
        Assert.NotEmpty(eleven.ZoneHints);
    }

    [Fact]
    public void Serving_terminating_endpoints_are_used_only_when_none_is_ready()
    {
        var snapshot = Snapshot([Endpoint("10.0.0.1", false, true, true), Endpoint("10.0.0.2", false, false, true), Endpoint("10.0.0.3", false, false, false)]);

        Assert.True(snapshot.UsesTerminatingFallback);
        Assert.Equal(["10.0.0.1"], snapshot.UsableEndpoints.Select(e => e.Address));
        Assert.Equal(0, snapshot.ReadyCount);
        Assert.Equal(1, snapshot.NotReadyCount);
        Assert.Equal(2, snapshot.TerminatingCount);
    }

    [Fact]
    public void No_usable_endpoint_when_nothing_is_ready_or_serving()
    {
        var snapshot = Snapshot([Endpoint("10.0.0.2", false, false, true), Endpoint("10.0.0.3", false, false, false)]);

        Assert.Empty(snapshot.UsableEndpoints);
        Assert.False(snapshot.HasUsableEndpoints);
    }

    [Fact]
    public void Not_ready_endpoints_are_included_when_configured()
    {
        var snapshot = Snapshot([Endpoint("10.0.0.1", true, true, false), Endpoint("10.0.0.3", false, false, false)], includeNotReady: true);

        Assert.Equal(2, snapshot.UsableEndpoints.Length);
        Assert.True(snapshot.IncludesNotReady);
    }

    [Fact]
    public void Both_address_families_are_kept_and_duplicates_across_slices_collapse_to_the_most_usable()
    {
        var v4 = Fixtures.BandicootSliceV4();
        var v6 = Fixtures.BandicootSliceV6();
        var moving = Fixtures.Slice("bandicoot-prod", "bandicoot-prod-zzzzz", ("10.1.0.21", false));

        var endpoints = KubernetesObjectConverter.FromSlices([moving, v6, v4]);

        Assert.Equal(4, endpoints.Length);
        Assert.Equal(2, endpoints.Count(e => e.AddressFamily == AddressFamily.InterNetworkV6));
        Assert.True(endpoints.Single(e => e.Address == "10.1.0.21").IsReady);
    }

    [Fact]
    public void Core_endpoints_addresses_are_ready_and_not_ready_addresses_are_not()
    {
        var endpoints = KubernetesObjectConverter.FromEndpoints([Fixtures.AlpacaEndpoints()]);
        var snapshot = Snapshot(endpoints);

        Assert.Equal(["10.1.0.11", "10.1.0.12"], snapshot.UsableEndpoints.Select(e => e.Address));
        Assert.Equal(1, snapshot.NotReadyCount);
    }

    [Fact]
    public void Pods_ready_condition_decides_and_deleting_pods_are_skipped()
    {
        static k8s.Models.V1Pod Pod(string name, string ip, bool ready, bool deleting = false) => new()
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = name, NamespaceProperty = "demo", DeletionTimestamp = deleting ? Now.UtcDateTime : null },
            Spec = new k8s.Models.V1PodSpec { Containers = [new k8s.Models.V1Container { Name = "c", Ports = [new k8s.Models.V1ContainerPort { Name = "http", ContainerPort = 8080 }] }] },
            Status = new k8s.Models.V1PodStatus { PodIP = ip, Conditions = [new k8s.Models.V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
        };

        var endpoints = KubernetesObjectConverter.FromPods([Pod("a", "10.2.0.1", true), Pod("b", "10.2.0.2", false), Pod("c", "10.2.0.3", true, deleting: true)]);

        Assert.Equal(["10.2.0.1", "10.2.0.2"], endpoints.Select(e => e.Address));
        Assert.Equal([true, false], endpoints.Select(e => e.IsReady));
        Assert.Equal("a", endpoints[0].PodName);
    }

    [Fact]
    public void Target_authority_brackets_ipv6()
    {
        var target = new EndpointTarget(new ServiceEndpoint("fd00:10:1::21", AddressFamily.InterNetworkV6, [], true, true, false), 8080);

        Assert.Equal("[fd00:10:1::21]:8080", target.Authority);
    }
}
