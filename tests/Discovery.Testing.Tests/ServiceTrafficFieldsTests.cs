using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Discovery.Testing.Tests;

/// <summary>
/// The fields kube-proxy reads (session affinity, traffic policies, trafficDistribution, EndpointSlice hints) and nodes: stored
/// and served unchanged through the stock client, defaulted and validated as the API server does (v1.33, default feature gates).
/// </summary>
public sealed class ServiceTrafficFieldsTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static V1Service Service(Action<V1ServiceSpec> spec, string name = "alpaca-prod")
    {
        var service = EmulatorObjects.Service("default", name, EmulatorObjects.ServicePort(80, "http"));
        spec(service.Spec);
        return service;
    }

    [Fact]
    public async Task The_fields_are_stored_and_served_unchanged()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        await client.CoreV1.CreateNamespacedServiceAsync(Service(s =>
        {
            s.Type = "NodePort";
            s.SessionAffinity = "ClientIP";
            s.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 60 } };
            s.InternalTrafficPolicy = "Local";
            s.ExternalTrafficPolicy = "Local";
            s.TrafficDistribution = "PreferClose";
        }), "default", cancellationToken: Token);
        var endpoint = EmulatorObjects.Endpoint("10.1.0.1", zone: "zone-a", nodeName: "node-a");
        endpoint.Hints = new V1EndpointHints { ForZones = [new V1ForZone { Name = "zone-a" }], ForNodes = [new V1ForNode { Name = "node-a" }] };
        await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(EmulatorObjects.EndpointSlice("default", "alpaca-prod", "alpaca-prod-1", "IPv4", [endpoint], EmulatorObjects.SlicePort(8080, "http")), "default", cancellationToken: Token);

        var read = await client.CoreV1.ReadNamespacedServiceAsync("alpaca-prod", "default", cancellationToken: Token);
        var slice = await client.DiscoveryV1.ReadNamespacedEndpointSliceAsync("alpaca-prod-1", "default", cancellationToken: Token);

        Assert.Equal(("ClientIP", 60, "Local", "Local", "PreferClose"), (read.Spec.SessionAffinity, read.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds, read.Spec.InternalTrafficPolicy, read.Spec.ExternalTrafficPolicy, read.Spec.TrafficDistribution));
        Assert.Equal("zone-a", slice.Endpoints.Single().Hints.ForZones.Single().Name);
        Assert.Equal("node-a", slice.Endpoints.Single().Hints.ForNodes.Single().Name);
    }

    [Fact]
    public async Task Defaults_are_those_of_the_API_server()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();

        var sticky = await client.CoreV1.CreateNamespacedServiceAsync(Service(s => s.SessionAffinity = "ClientIP"), "default", cancellationToken: Token);
        var plain = await client.CoreV1.CreateNamespacedServiceAsync(Service(s => s.Type = "NodePort", "plain"), "default", cancellationToken: Token);

        Assert.Equal(10800, sticky.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds);
        Assert.Equal(("None", "Cluster", "Cluster"), (plain.Spec.SessionAffinity, plain.Spec.InternalTrafficPolicy, plain.Spec.ExternalTrafficPolicy));
        Assert.Null(plain.Spec.SessionAffinityConfig);
        Assert.Null(plain.Spec.TrafficDistribution);
    }

    public static TheoryData<string, string> InvalidServices => new()
    {
        { """{"sessionAffinity":"Sticky"}""", "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"" },
        { """{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":0}}}""", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400" },
        { """{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":86401}}}""", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400" },
        { """{"sessionAffinity":"None","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}}}""", "spec.sessionAffinityConfig: Invalid value:" },
        { """{"internalTrafficPolicy":"Nearby"}""", "spec.internalTrafficPolicy: Unsupported value: \"Nearby\": supported values: \"Cluster\", \"Local\"" },
        { """{"type":"NodePort","externalTrafficPolicy":"Nearby"}""", "spec.externalTrafficPolicy: Unsupported value: \"Nearby\": supported values: \"Cluster\", \"Local\"" },
        { """{"externalTrafficPolicy":"Local"}""", """spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services""" },
        { """{"trafficDistribution":"Anywhere"}""", "spec.trafficDistribution: Unsupported value: \"Anywhere\": supported values: \"PreferClose\"" },
    };

    [Theory]
    [MemberData(nameof(InvalidServices))]
    public async Task Invalid_values_are_refused_with_the_servers_message(string spec, string expected)
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        var body = System.Text.Json.Nodes.JsonNode.Parse(spec)!.AsObject();
        body["ports"] = System.Text.Json.Nodes.JsonNode.Parse("""[{"port":80}]""");
        var service = KubernetesJson.Deserialize<V1Service>($$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{{body.ToJsonString()}}}""");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedServiceAsync(service, "default", cancellationToken: Token));

        Assert.Equal(422, (int)error.Response.StatusCode);
        Assert.Contains(expected, System.Text.Json.Nodes.JsonNode.Parse(error.Response.Content)!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"forZones":[{"name":"a"},{"name":"a"}]}""", "hints.forZones[1].name: Duplicate value: \"a\"")]
    [InlineData("""{"forNodes":[{"name":"Node_A"}]}""", "hints.forNodes[0].name: Invalid value: \"Node_A\"")]
    [InlineData("""{"forNodes":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"},{"name":"e"},{"name":"f"},{"name":"g"},{"name":"h"},{"name":"i"}]}""", "hints.forNodes: Too many: 9: must have at most 8 items")]
    public async Task Invalid_hints_are_refused(string hints, string expected)
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        var slice = KubernetesJson.Deserialize<V1EndpointSlice>($$$"""{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"x","labels":{"kubernetes.io/service-name":"x"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.1"],"hints":{{{hints}}}}]}""");

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, "default", cancellationToken: Token));

        Assert.Equal(422, (int)error.Response.StatusCode);
        Assert.Contains(expected, System.Text.Json.Nodes.JsonNode.Parse(error.Response.Content)!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_are_served_with_their_labels_and_addresses()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.Apply(new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta { Name = "node-a", Labels = new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = "zone-a" } },
            Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "10.0.0.1" }] },
        });
        using var client = (Kubernetes)emulator.CreateClient();

        var node = await client.CoreV1.ReadNodeAsync("node-a", cancellationToken: Token);
        var list = await client.CoreV1.ListNodeAsync(cancellationToken: Token);

        Assert.Equal("zone-a", node.Metadata.Labels["topology.kubernetes.io/zone"]);
        Assert.Equal("10.0.0.1", node.Status.Addresses.Single().Address);
        Assert.Equal("node-a", list.Items.Single().Metadata.Name);
    }
}
