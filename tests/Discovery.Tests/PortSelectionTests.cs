using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s.Models;

namespace Discovery.Tests;

public class PortSelectionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 20, 0, 0, TimeSpan.Zero);

    private static ServiceEndpointSnapshot FromSlices(V1Service service, params V1EndpointSlice[] slices)
        => new(new ServiceKey("demo", service.Metadata.Name), true, KubernetesObjectConverter.ToServiceInfo(service), EndpointSourceKind.EndpointSlices, KubernetesObjectConverter.FromSlices(slices), 1, "1", Now);

    private static ServiceEndpointSnapshot Alpaca() => FromSlices(Fixtures.AlpacaService(), Fixtures.AlpacaSlice7xkqp(), Fixtures.AlpacaSliceM2r9d());

    private static ServiceEndpointSnapshot Bandicoot() => FromSlices(Fixtures.BandicootService(), Fixtures.BandicootSliceV4(), Fixtures.BandicootSliceV6());

    [Fact]
    public void Single_port_service_is_chosen_without_a_port()
    {
        var selection = Alpaca().SelectPort(null, null, "http", null);

        Assert.Equal("http", selection.PortName);
        Assert.Equal(8080, selection.ServicePort);
        Assert.Equal(["10.1.0.11:8080", "10.1.0.12:8080", "10.1.0.15:8080"], selection.Targets.Select(t => t.Authority));
    }

    [Fact]
    public void Explicit_uri_port_selects_the_service_port_and_maps_to_its_target_port_by_name()
    {
        var selection = Bandicoot().SelectPort(80, null, "http", null);

        Assert.Equal("http", selection.PortName);
        Assert.Equal(80, selection.ServicePort);
        Assert.All(selection.Targets, t => Assert.Equal(8080, t.Port));
        Assert.Equal(4, selection.Targets.Length);
        Assert.Contains(selection.Targets, t => t.Authority == "[fd00:10:1::21]:8080");
    }

    [Fact]
    public void Named_port_label_selects_the_endpoint_port_and_carries_app_protocol()
    {
        var selection = Bandicoot().SelectPort(null, "grpc", "http", null);

        Assert.Equal("grpc", selection.PortName);
        Assert.Equal(9090, selection.ServicePort);
        Assert.Equal("kubernetes.io/h2c", selection.AppProtocol);
        Assert.All(selection.Targets, t => Assert.Equal(9090, t.Port));
    }

    [Fact]
    public void Several_ports_without_a_port_pick_the_one_named_like_the_scheme()
    {
        var selection = Bandicoot().SelectPort(null, null, "http", null);

        Assert.Equal("http", selection.PortName);
        Assert.All(selection.Targets, t => Assert.Equal(8080, t.Port));
    }

    [Fact]
    public void Several_ports_fall_back_to_the_configured_default_name()
    {
        var selection = Bandicoot().SelectPort(null, null, "https", "grpc");

        Assert.Equal("grpc", selection.PortName);
    }

    [Fact]
    public void Several_ports_without_any_match_throw_listing_the_ports()
    {
        var error = Assert.Throws<ServicePortNotFoundException>(() => Bandicoot().SelectPort(null, null, "https", null));

        Assert.Equal(["http (80)", "grpc (9090)"], error.AvailablePorts);
        Assert.Contains("bandicoot-prod", error.Message, StringComparison.Ordinal);
        Assert.Contains("demo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_uri_port_and_unknown_name_throw()
    {
        var snapshot = Bandicoot();

        Assert.Equal("8080", Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(8080, null, "http", null)).Requested);
        Assert.Contains("metrics", Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(null, "metrics", "http", null)).Requested, StringComparison.Ordinal);
    }

    [Fact]
    public void Unnamed_single_port_of_a_selectorless_service_maps_directly()
    {
        var service = Fixtures.ExternalDbService();
        var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "external-db"), true, KubernetesObjectConverter.ToServiceInfo(service), EndpointSourceKind.Endpoints, KubernetesObjectConverter.FromEndpoints([Fixtures.ExternalDbEndpoints()]), 1, "1", Now);

        var byNumber = snapshot.SelectPort(5432, null, "http", null);
        var byDefault = snapshot.SelectPort(null, null, "http", null);

        Assert.Equal(["10.1.0.50:5432"], byNumber.Targets.Select(t => t.Authority));
        Assert.Equal(string.Empty, byNumber.PortName);
        Assert.Same(byNumber.Targets[0].Endpoint, byDefault.Targets[0].Endpoint);
    }

    [Fact]
    public void Selections_are_cached_per_snapshot()
    {
        var snapshot = Bandicoot();

        var first = snapshot.SelectPort(null, "grpc", "http", null);
        var second = snapshot.SelectPort(null, "grpc", "http", null);
        var other = snapshot.SelectPort(80, null, "http", null);

        Assert.Same(first, second);
        Assert.NotSame(first, other);
        Assert.Same(other, snapshot.SelectPort(80, null, "HTTP", null));
        Assert.Same(snapshot, first.Snapshot);
    }

    [Fact]
    public void Cached_selection_lookup_does_not_allocate()
    {
        var snapshot = Bandicoot();
        snapshot.SelectPort(80, null, "http", null);
        snapshot.SelectPort(null, "grpc", "http", null);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            snapshot.SelectPort(null, "grpc", "http", null);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Concurrent_selection_returns_one_instance_per_key()
    {
        var snapshot = Bandicoot();
        var results = new PortSelection[64];

        Parallel.For(0, results.Length, i => results[i] = snapshot.SelectPort(i % 2 == 0 ? 80 : 9090, null, "http", null));

        Assert.Equal(2, results.Distinct().Count());
    }

    [Fact]
    public void External_name_without_ports_uses_the_uri_port_or_the_scheme_default()
    {
        var service = Fixtures.DocsService();
        var info = KubernetesObjectConverter.ToServiceInfo(service);
        var endpoint = new ServiceEndpoint(info.ExternalName!, System.Net.Sockets.AddressFamily.Unspecified, [], true, true, false);
        var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "docs"), true, info, EndpointSourceKind.ExternalName, [endpoint], 1, "1", Now);

        Assert.Equal("docs.example.com:443", snapshot.SelectPort(null, null, "https", null).Targets.Single().Authority);
        Assert.Equal("docs.example.com:8443", snapshot.SelectPort(8443, null, "https", null).Targets.Single().Authority);
    }

    [Fact]
    public void Pod_targets_use_the_uri_port_directly_or_their_single_named_port()
    {
        var endpoint = new ServiceEndpoint("10.2.0.1", System.Net.Sockets.AddressFamily.InterNetwork, [new EndpointPort("web", 8080, "TCP", null)], true, true, false);
        var snapshot = new ServiceEndpointSnapshot(new ServiceKey("demo", "alpaca"), true, null, EndpointSourceKind.Pods, [endpoint], 1, "1", Now);

        Assert.Equal("10.2.0.1:8080", snapshot.SelectPort(null, null, "http", null).Targets.Single().Authority);
        Assert.Equal("10.2.0.1:9000", snapshot.SelectPort(9000, null, "http", null).Targets.Single().Authority);
        Assert.Equal("10.2.0.1:8080", snapshot.SelectPort(null, "web", "http", null).Targets.Single().Authority);
    }
}
