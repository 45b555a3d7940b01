using System.Net.Sockets;
using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Discovery.Tests;

/// <summary>Addresses that are not IP literals, ports out of range, non-TCP ports and selectors, at the converter and port-selection level.</summary>
public class EndpointValidationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 20, 0, 0, TimeSpan.Zero);
    private static readonly ServiceKey Key = new("demo", "alpaca-prod");

    [Theory]
    [InlineData("IPv4", "10.1.0.7", "10.1.0.7")]
    [InlineData("IPv4", "10.1.0.007", "10.1.0.7")]
    [InlineData("IPv4", "not-an-ip", null)]
    [InlineData("IPv4", "evil.example/x?", null)]
    [InlineData("IPv4", "10.1", null)]
    [InlineData("IPv4", "0x0a.1.0.7", null)]
    [InlineData("IPv4", "10.1.0.256", null)]
    [InlineData("IPv4", "10.1.0.7:80", null)]
    [InlineData("IPv4", "10.1.0.7/32", null)]
    [InlineData("IPv4", "fd00::7", null)]
    [InlineData("IPv6", "FD00:0:0::7", "fd00::7")]
    [InlineData("IPv6", "::ffff:10.1.0.7", "::ffff:10.1.0.7")]
    [InlineData("IPv6", "[fd00::7]", null)]
    [InlineData("IPv6", "[fd00::7]:80", null)]
    [InlineData("IPv6", "fe80::7%eth0", null)]
    [InlineData("IPv6", "10.1.0.7", null)]
    [InlineData("IPv6", "evil.example", null)]
    public void Slice_addresses_must_be_literals_of_the_slice_address_type(string addressType, string address, string? expected)
    {
        var slice = Fixtures.Slice("alpaca-prod", "s", (address, true), (addressType == "IPv4" ? "10.1.0.1" : "fd00::1", true));
        slice.AddressType = addressType;

        var endpoints = KubernetesObjectConverter.FromSlices([slice]);

        var kept = endpoints.Select(e => e.Address).ToArray();
        Assert.Equal(expected is null ? 1 : 2, kept.Length);
        if (expected is not null)
        {
            Assert.Equal(expected, kept[0]);
            Assert.Equal(addressType == "IPv4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6, endpoints[0].AddressFamily);
        }
    }

    [Fact]
    public void Two_spellings_of_one_address_are_one_endpoint()
    {
        var slice = Fixtures.Slice("alpaca-prod", "s", ("fd00::7", false), ("FD00:0::7", true));
        slice.AddressType = "IPv6";

        var endpoint = Assert.Single(KubernetesObjectConverter.FromSlices([slice]));

        Assert.True(endpoint.IsReady);
    }

    [Fact]
    public void Fqdn_slices_are_skipped_with_an_information_log_once_per_version()
    {
        using var logs = new TestLogs();
        var log = new RejectionLog(logs.Factory.CreateLogger("test"), Key);
        var fqdn = Fixtures.Slice("alpaca-prod", "names", ("alpaca.example.com", true));
        fqdn.AddressType = "FQDN";
        fqdn.Metadata.ResourceVersion = "5";
        var bogus = Fixtures.Slice("alpaca-prod", "bogus", ("10.1.0.9", true));
        bogus.AddressType = "IPv5";

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(["10.1.0.1"], KubernetesObjectConverter.FromSlices([fqdn, bogus, Fixtures.Slice("alpaca-prod", "s", ("10.1.0.1", true))], log).Select(e => e.Address));
        }

        var records = logs.Collector.GetSnapshot();
        Assert.Equal(LogLevel.Information, Assert.Single(records, r => r.Message.Contains("names", StringComparison.Ordinal)).Level);
        Assert.Equal(LogLevel.Warning, Assert.Single(records, r => r.Message.Contains("bogus", StringComparison.Ordinal)).Level);
    }

    [Fact]
    public void A_hostile_slice_with_many_bad_entries_logs_one_line_and_keeps_the_good_ones()
    {
        using var logs = new TestLogs();
        var log = new RejectionLog(logs.Factory.CreateLogger("test"), Key);
        var bad = Enumerable.Range(0, 1000).Select(i => ($"evil-{i}.example/\nforged log line", (bool?)true));
        var slice = Fixtures.Slice("alpaca-prod", "s", [.. bad, ("10.1.0.1", true)]);
        slice.Ports.Add(new Discoveryv1EndpointPort { Name = "zero", Port = 0 });
        slice.Ports.Add(new Discoveryv1EndpointPort { Name = "huge", Port = 70000 });

        var endpoint = Assert.Single(KubernetesObjectConverter.FromSlices([slice], log));
        KubernetesObjectConverter.FromSlices([slice], log);

        Assert.Equal("10.1.0.1", endpoint.Address);
        Assert.Equal(["http"], endpoint.Ports.Select(p => p.Name));
        var record = Assert.Single(logs.Collector.GetSnapshot());
        Assert.Contains("Skipped 1002 invalid entries", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', record.Message);
    }

    [Fact]
    public void Endpoints_and_pod_addresses_must_be_ip_literals()
    {
        var endpoints = Fixtures.AlpacaEndpoints();
        endpoints.Subsets[0].Addresses.Add(new V1EndpointAddress { Ip = "not-an-ip" });
        endpoints.Subsets[0].Addresses.Add(new V1EndpointAddress { Ip = "" });
        endpoints.Subsets[0].NotReadyAddresses.Add(new V1EndpointAddress { Ip = null });
        endpoints.Subsets[0].NotReadyAddresses.Add(new V1EndpointAddress { Ip = "FD00::13" });
        endpoints.Subsets[0].Ports.Add(new Corev1EndpointPort { Name = "bad", Port = 0 });
        var pod = SourceTests.Pod("worker-a", "evil.example", ready: true);
        pod.Status.PodIPs = [new V1PodIP { Ip = "evil.example" }, new V1PodIP { Ip = "10.3.0.1" }];

        var fromEndpoints = KubernetesObjectConverter.FromEndpoints([endpoints]);
        var fromPods = KubernetesObjectConverter.FromPods([pod]);

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.13", "fd00::13"], fromEndpoints.Select(e => e.Address));
        Assert.All(fromEndpoints, e => Assert.Equal(["http"], e.Ports.Select(p => p.Name)));
        Assert.Equal(["10.3.0.1"], fromPods.Select(e => e.Address));
    }

    [Fact]
    public void Service_external_name_and_load_balancer_addresses_are_validated()
    {
        var service = Fixtures.Service("alpaca-prod", ("http", 80, 8080));
        service.Spec.Type = "ExternalName";
        service.Spec.ExternalName = "evil.example/x?";
        service.Status = new V1ServiceStatus
        {
            LoadBalancer = new V1LoadBalancerStatus
            {
                Ingress = [new V1LoadBalancerIngress { Ip = "not-an-ip" }, new V1LoadBalancerIngress { Hostname = "lb.example/x" }, new V1LoadBalancerIngress { Ip = "203.0.113.7" }, new V1LoadBalancerIngress { Hostname = "lb.example.com" }],
            },
        };

        var info = KubernetesObjectConverter.ToServiceInfo(service);

        Assert.Null(info.ExternalName);
        Assert.Equal(["203.0.113.7", "lb.example.com"], info.LoadBalancerIngress);

        service.Spec.ExternalName = "docs.example.com.";
        Assert.Equal("docs.example.com.", KubernetesObjectConverter.ToServiceInfo(service).ExternalName);
    }

    [Fact]
    public void A_uri_port_shared_by_udp_and_tcp_selects_the_tcp_one()
    {
        var info = ServiceInfo(("dns", 53, "5353", "UDP"), ("dns-tcp", 53, "5354", "TCP"));
        var snapshot = Snapshot(info, Endpoint(("dns", 5353, "UDP"), ("dns-tcp", 5354, "TCP")));

        var selection = snapshot.SelectPort(53, null, "http", null);

        Assert.Equal("dns-tcp", selection.PortName);
        Assert.Equal(5354, Assert.Single(selection.Targets).Port);
        Assert.Equal(5354, Assert.Single(snapshot.SelectPort(null, null, "http", null).Targets).Port);
    }

    [Fact]
    public void A_udp_only_service_has_no_port_for_http()
    {
        var snapshot = Snapshot(ServiceInfo(("dns", 53, "5353", "UDP")), Endpoint(("dns", 5353, "UDP")));

        var error = Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(null, null, "http", null));
        Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(53, null, "http", null));
        Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(null, "dns", "http", null));
        Assert.Contains("dns (53/UDP)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_tcp_service_port_never_maps_to_a_single_udp_endpoint_port()
    {
        var snapshot = Snapshot(ServiceInfo(("web", 80, "8080", "TCP")), Endpoint(("other", 8080, "UDP")));

        Assert.Empty(snapshot.SelectPort(null, null, "http", null).Targets);
    }

    [Fact]
    public void Without_service_ports_only_tcp_endpoint_ports_are_candidates()
    {
        var snapshot = Snapshot(null, Endpoint(("http", 8080, "TCP"), ("metrics", 9090, "UDP")));

        Assert.Equal(8080, Assert.Single(snapshot.SelectPort(null, null, "grpc", null).Targets).Port);
        Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(null, "metrics", "http", null));
    }

    [Theory]
    [InlineData("app=worker", true)]
    [InlineData("app==worker", true)]
    [InlineData("app=web", false)]
    [InlineData("app!=web", true)]
    [InlineData("app!=worker", false)]
    [InlineData("app in (web, worker)", true)]
    [InlineData("app in (web,api),tier=back", false)]
    [InlineData("app notin (worker)", false)]
    [InlineData("app,tier", false)]
    [InlineData("!tier", true)]
    [InlineData("app=worker,!tier", true)]
    [InlineData("app=worker,tier=", false)]
    public void The_client_side_label_check_follows_selector_syntax(string selector, bool matches)
    {
        var filter = new ObjectFilter(new ResourceQuery(WatchedResource.Pods, "demo", selector, null));
        var metadata = new V1ObjectMeta { Name = "worker-a", NamespaceProperty = "demo", Labels = new Dictionary<string, string> { ["app"] = "worker" } };

        Assert.Equal(matches, filter.Reject(metadata, out _) is null);
    }

    [Fact]
    public void The_client_side_check_tells_another_object_from_one_that_stopped_matching()
    {
        var filter = new ObjectFilter(new ResourceQuery(WatchedResource.EndpointSlices, "demo", "kubernetes.io/service-name=alpaca-prod", null));
        var relabelled = Fixtures.Slice("bandicoot-prod", "alpaca-prod-1").Metadata;
        var elsewhere = Fixtures.Slice("alpaca-prod", "alpaca-prod-1").Metadata;
        elsewhere.NamespaceProperty = "other";

        Assert.NotNull(filter.Reject(relabelled, out var relabelledIsOther));
        Assert.NotNull(filter.Reject(elsewhere, out var elsewhereIsOther));
        Assert.Null(filter.Reject(Fixtures.Slice("alpaca-prod", "alpaca-prod-1").Metadata, out _));
        Assert.False(relabelledIsOther);
        Assert.True(elsewhereIsOther);
    }

    private static KubernetesServiceInfo ServiceInfo(params (string Name, int Port, string Target, string Protocol)[] ports)
        => new("ClusterIP", "10.96.0.10", true, null, [.. ports.Select(p => new ServicePortInfo(p.Name, p.Port, p.Target, p.Protocol, null, null))], [], "1");

    private static ServiceEndpoint Endpoint(params (string Name, int Port, string Protocol)[] ports)
        => new("10.1.0.1", AddressFamily.InterNetwork, [.. ports.Select(p => new EndpointPort(p.Name, p.Port, p.Protocol, null))], true, true, false);

    private static ServiceEndpointSnapshot Snapshot(KubernetesServiceInfo? info, params ServiceEndpoint[] endpoints)
        => new(Key, true, info, EndpointSourceKind.EndpointSlices, [.. endpoints], 1, "1", Now);
}
