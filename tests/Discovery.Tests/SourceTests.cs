using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s.Models;

namespace Discovery.Tests;

/// <summary>Where endpoints come from: slices, the Endpoints fallback, ExternalName, headless, selectorless, pods, address modes.</summary>
public class SourceTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string[] Usable(ServiceEndpointSnapshot snapshot) => [.. snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData(404)]
    [InlineData(403)]
    public async Task Refused_endpointslices_fall_back_to_core_endpoints(int status)
    {
        await using var test = new TestResolver();
        test.Api.ListFault = q => q.Resource == WatchedResource.EndpointSlices ? FakeKubernetesApi.Status(status) : null;

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);

        Assert.Equal(EndpointSourceKind.Endpoints, snapshot.Source);
        Assert.Equal(["10.1.0.11", "10.1.0.12"], Usable(snapshot));
        Assert.Equal(1, snapshot.NotReadyCount);

        var endpoints = Fixtures.AlpacaEndpoints();
        endpoints.Subsets[0].Addresses.Add(endpoints.Subsets[0].NotReadyAddresses[0]);
        endpoints.Subsets[0].NotReadyAddresses = null;
        test.Api.Apply(endpoints);
        await Eventually.True(
            () => test.Resolver.TryGetSnapshot(TestResolver.Key("alpaca-prod"), out var s) && s.UsableEndpoints.Length == 3,
            "the Endpoints watch delivers the address becoming ready");
    }

    [Fact]
    public async Task A_slice_watch_refused_after_its_list_keeps_the_last_set_until_the_endpoints_list_arrives()
    {
        await using var test = new TestResolver();
        var key = TestResolver.Key("alpaca-prod");
        var first = await test.Resolver.GetSnapshotAsync(key, Token);
        Assert.Equal(EndpointSourceKind.EndpointSlices, first.Source);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        var seen = new System.Collections.Concurrent.ConcurrentQueue<ServiceEndpointSnapshot>();
        using var subscription = test.Resolver.Subscribe(key, seen.Enqueue);

        // Watching slices becomes forbidden (listing them was allowed), and the Endpoints list that follows is slow.
        var release = new TaskCompletionSource();
        test.Api.ListAnswerDelay = q => q.Resource == WatchedResource.Endpoints ? release.Task : null;
        test.Api.WatchFault = q => q.Resource == WatchedResource.EndpointSlices ? FakeKubernetesApi.Status(403, "Forbidden") : null;
        test.Api.BreakWatches();
        await Eventually.True(() => test.Api.ListCalls.GetValueOrDefault(WatchedResource.Endpoints) > 0, "the watcher switches to Endpoints", test.Time);

        // Meanwhile the Service changes: the rebuild must not read the slices still held as if they were Endpoints.
        test.Time.Advance(TimeSpan.FromSeconds(20));
        var service = Fixtures.AlpacaService();
        service.Spec.Ports[0].AppProtocol = "kubernetes.io/h2c";
        test.Api.Apply(service);
        await Eventually.True(
            () => test.Resolver.GetWatcherStatuses().Single().SinceLastContact < TimeSpan.FromSeconds(20),
            "the Service change is applied");

        release.SetResult();
        await Eventually.True(
            () => test.Resolver.TryGetSnapshot(key, out var s) && s.Source == EndpointSourceKind.Endpoints && s.ServiceInfo?.Ports[0].AppProtocol == "kubernetes.io/h2c",
            "the Endpoints list arrives");
        Assert.All(seen, s => Assert.NotEmpty(s.UsableEndpoints));
        Assert.True(test.Resolver.TryGetSnapshot(key, out var last));
        Assert.Equal(["10.1.0.11", "10.1.0.12"], Usable(last));
    }

    [Fact]
    public async Task When_both_sources_are_forbidden_the_error_names_the_role_to_add()
    {
        await using var test = new TestResolver();
        test.Api.ListFault = q => q.Resource is WatchedResource.EndpointSlices or WatchedResource.Endpoints ? FakeKubernetesApi.Status(403, "Forbidden") : null;

        var error = await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token));

        Assert.Equal("endpointslices", error.Resource);
        Assert.Equal("discovery.k8s.io", error.ApiGroup);
        Assert.Equal("list", error.Verb);
        Assert.Equal("demo", error.Namespace);
        Assert.Contains("Role", error.Message, StringComparison.Ordinal);
        Assert.Contains("alpaca-prod", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forbidden_services_fail_at_once_and_the_answer_is_cached()
    {
        await using var test = new TestResolver();
        test.Api.ListFault = q => q.Resource == WatchedResource.Services ? FakeKubernetesApi.Status(403, "Forbidden") : null;

        var error = await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token));
        var calls = test.Api.ListCalls[WatchedResource.Services];
        await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token));

        Assert.Equal("services", error.Resource);
        Assert.Equal(string.Empty, error.ApiGroup);
        Assert.Equal(calls, test.Api.ListCalls[WatchedResource.Services]);
    }

    [Fact]
    public async Task A_missing_service_is_a_cheap_cached_negative_answer_until_it_appears()
    {
        await using var test = new TestResolver();
        var key = new ServiceKey("com", "example");

        var first = await test.Resolver.GetSnapshotAsync(key, Token);
        for (var i = 0; i < 50; i++)
        {
            Assert.False((await test.Resolver.GetSnapshotAsync(key, Token)).ServiceExists);
        }

        Assert.False(first.ServiceExists);
        Assert.Equal(1, test.Api.ListCalls[WatchedResource.Services]);
        Assert.False(test.Api.ListCalls.ContainsKey(WatchedResource.EndpointSlices));
        Assert.True(test.Resolver.TryGetSnapshot(key, out _));

        var service = Fixtures.Service("example", ("http", 80, 8080));
        service.Metadata.NamespaceProperty = "com";
        var slice = Fixtures.Slice("example", "example-1", ("10.9.0.1", true));
        slice.Metadata.NamespaceProperty = "com";
        test.Api.Apply(slice);
        test.Api.Apply(service);

        await Eventually.True(() => test.Resolver.TryGetSnapshot(key, out var s) && s.ServiceExists && s.UsableEndpoints.Length == 1, "the new Service and its endpoints show up");
    }

    [Fact]
    public async Task External_name_resolves_to_the_external_name_without_reading_slices()
    {
        await using var test = new TestResolver();

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("docs"), Token);

        Assert.Equal(EndpointSourceKind.ExternalName, snapshot.Source);
        Assert.Equal("docs.example.com", snapshot.UsableEndpoints.Single().Address);
        Assert.Equal("docs.example.com:443", snapshot.SelectPort(null, null, "https", null).Targets.Single().Authority);
        Assert.False(test.Api.ListCalls.ContainsKey(WatchedResource.EndpointSlices));
    }

    [Fact]
    public async Task Headless_service_uses_its_slices()
    {
        await using var test = new TestResolver();
        var slice = Fixtures.Slice("alpaca-headless", "alpaca-headless-1", ("10.1.0.41", true), ("10.1.0.42", null));
        test.Api.Apply(slice);

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-headless"), Token);

        Assert.True(snapshot.ServiceInfo!.IsHeadless);
        Assert.Equal(["10.1.0.41", "10.1.0.42"], Usable(snapshot));
    }

    [Fact]
    public async Task Selectorless_service_uses_its_hand_made_endpoints_when_no_slice_mirrors_them()
    {
        await using var test = new TestResolver();

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("external-db"), Token);

        Assert.False(snapshot.ServiceInfo!.HasSelector);
        Assert.Equal(EndpointSourceKind.Endpoints, snapshot.Source);
        Assert.Equal("10.1.0.50:5432", snapshot.SelectPort(5432, null, "http", null).Targets.Single().Authority);
    }

    [Fact]
    public async Task Pod_selector_targets_follow_pod_readiness()
    {
        await using var test = new TestResolver(o => o.PodSelectors["workers"] = "app=worker");
        test.Api.Apply(Pod("worker-a", "10.3.0.1", ready: true));
        test.Api.Apply(Pod("worker-b", "10.3.0.2", ready: false));
        var key = TestResolver.Key("workers");

        var snapshot = await test.Resolver.GetSnapshotAsync(key, Token);

        Assert.Equal(EndpointSourceKind.Pods, snapshot.Source);
        Assert.Equal(["10.3.0.1"], Usable(snapshot));
        Assert.Equal("10.3.0.1:9000", snapshot.SelectPort(9000, null, "http", null).Targets.Single().Authority);

        test.Api.Apply(Pod("worker-b", "10.3.0.2", ready: true));
        test.Api.Apply(Pod("worker-a", "10.3.0.1", ready: true, deleting: true));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(key, out var s) && Usable(s).SequenceEqual(["10.3.0.2"]), "readiness and deletion are followed");
    }

    [Fact]
    public async Task Node_port_mode_targets_the_nodes_hosting_endpoints()
    {
        await using var test = new TestResolver(o => o.AddressMode = AddressMode.NodePort);
        var service = Fixtures.AlpacaService();
        service.Spec.Type = "NodePort";
        service.Spec.Ports[0].NodePort = 30080;
        test.Api.Apply(service);
        test.Api.Nodes.Add(Node("node-a", "192.168.1.10"));
        test.Api.Nodes.Add(Node("node-b", "192.168.1.11"));

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);

        Assert.Equal(["192.168.1.10:30080", "192.168.1.11:30080"], snapshot.SelectPort(8080, null, "http", null).Targets.Select(t => t.Authority).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Auto_mode_outside_the_cluster_prefers_the_load_balancer()
    {
        await using var test = new TestResolver(isInCluster: false);
        var service = Fixtures.AlpacaService();
        service.Spec.Type = "LoadBalancer";
        service.Spec.Ports[0].NodePort = 30080;
        service.Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "203.0.113.7" }] } };
        test.Api.Apply(service);

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);

        Assert.Equal("203.0.113.7:8080", snapshot.SelectPort(null, null, "http", null).Targets.Single().Authority);
        Assert.Equal(0, test.Api.NodeListCalls);
    }

    [Fact]
    public async Task Auto_mode_in_the_cluster_uses_pod_ips()
    {
        await using var test = new TestResolver(isInCluster: true);
        var service = Fixtures.AlpacaService();
        service.Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "203.0.113.7" }] } };
        test.Api.Apply(service);

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Usable(snapshot));
    }

    [Fact]
    public async Task Forbidden_node_list_falls_back_to_pod_ips()
    {
        await using var test = new TestResolver(o => o.AddressMode = AddressMode.NodePort);
        var service = Fixtures.AlpacaService();
        service.Spec.Ports[0].NodePort = 30080;
        test.Api.Apply(service);
        test.Api.NodesFault = FakeKubernetesApi.Status(403, "Forbidden");

        var snapshot = await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);

        Assert.Equal(["10.1.0.11", "10.1.0.12", "10.1.0.15"], Usable(snapshot));
    }

    internal static V1Pod Pod(string name, string ip, bool ready, bool deleting = false) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = Fixtures.Namespace,
            Labels = new Dictionary<string, string> { ["app"] = "worker" },
            DeletionTimestamp = deleting ? DateTime.UtcNow : null,
        },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "worker", Ports = [new V1ContainerPort { Name = "http", ContainerPort = 9000 }] }] },
        Status = new V1PodStatus { Phase = "Running", PodIP = ip, Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
    };

    private static V1Node Node(string name, string address) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = address }] },
    };
}
