using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Discovery.Testing.Tests;

/// <summary>The stock client creates, reads, replaces, patches and deletes every served kind.</summary>
public sealed class CrudTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EndpointSlice_round_trip_through_the_client()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        await client.CoreV1.CreateNamespaceAsync(EmulatorObjects.Namespace("demo"), cancellationToken: Token);
        var slice = EmulatorObjects.EndpointSlice("demo", "alpaca-prod", "alpaca-prod-abc", 8080, "http", ["10.1.0.1", "10.1.0.2"]);

        var created = await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, "demo", cancellationToken: Token);
        Assert.Equal(1, created.Metadata.Generation);
        Assert.NotNull(created.Metadata.Uid);
        Assert.Equal("kubernetes-csharp", created.Metadata.ManagedFields.Single().Manager);

        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, "demo", cancellationToken: Token));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, conflict.Response.StatusCode);
        Assert.Contains("already exists", conflict.Response.Content, StringComparison.Ordinal);

        created.Endpoints[1].Conditions.Ready = false;
        var replaced = await client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(created, "alpaca-prod-abc", "demo", cancellationToken: Token);
        Assert.Equal(2, replaced.Metadata.Generation);
        Assert.True(Revision(replaced) > Revision(created));

        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(created, "alpaca-prod-abc", "demo", cancellationToken: Token));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, stale.Response.StatusCode);
        Assert.Contains("the object has been modified", stale.Response.Content, StringComparison.Ordinal);

        var patched = await client.DiscoveryV1.PatchNamespacedEndpointSliceAsync(
            new V1Patch("""{"metadata":{"labels":{"tier":"backend"}}}""", V1Patch.PatchType.MergePatch), "alpaca-prod-abc", "demo", cancellationToken: Token);
        Assert.Equal("backend", patched.Metadata.Labels["tier"]);
        Assert.Equal(2, patched.Metadata.Generation);

        var jsonPatched = await client.DiscoveryV1.PatchNamespacedEndpointSliceAsync(
            new V1Patch("""[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]""", V1Patch.PatchType.JsonPatch), "alpaca-prod-abc", "demo", cancellationToken: Token);
        Assert.False(jsonPatched.Endpoints[0].Conditions.Ready);

        var got = await client.DiscoveryV1.ReadNamespacedEndpointSliceAsync("alpaca-prod-abc", "demo", cancellationToken: Token);
        Assert.Equal(jsonPatched.Metadata.ResourceVersion, got.Metadata.ResourceVersion);

        var status = await client.DiscoveryV1.DeleteNamespacedEndpointSliceAsync("alpaca-prod-abc", "demo", cancellationToken: Token);
        Assert.Equal("Success", status.Status);
        Assert.Equal(got.Metadata.Uid, status.Details.Uid);
        Assert.Null(emulator.Get<V1EndpointSlice>("demo", "alpaca-prod-abc"));

        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.DeleteNamespacedEndpointSliceAsync("alpaca-prod-abc", "demo", cancellationToken: Token));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.Response.StatusCode);
    }

    [Fact]
    public async Task Service_gets_server_defaults_and_delete_returns_the_object()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();

        var created = await client.CoreV1.CreateNamespacedServiceAsync(
            EmulatorObjects.Service("default", "bandicoot-prod", EmulatorObjects.ServicePort(80, "http", 8080), EmulatorObjects.ServicePort(9090, "grpc", appProtocol: "kubernetes.io/h2c")), "default", cancellationToken: Token);
        Assert.StartsWith("10.96.", created.Spec.ClusterIP, StringComparison.Ordinal);
        Assert.Equal([created.Spec.ClusterIP], created.Spec.ClusterIPs);
        Assert.Equal("None", created.Spec.SessionAffinity);
        Assert.Equal("Cluster", created.Spec.InternalTrafficPolicy);
        Assert.Equal(["IPv4"], created.Spec.IpFamilies);
        Assert.Equal(8080, int.Parse(created.Spec.Ports[0].TargetPort, CultureInfo.InvariantCulture));
        Assert.Null(created.Metadata.Generation);

        created.Spec.Ports[0].Port = 81;
        var replaced = await client.CoreV1.ReplaceNamespacedServiceAsync(created, "bandicoot-prod", "default", cancellationToken: Token);
        Assert.Equal(81, replaced.Spec.Ports[0].Port);
        Assert.Equal(created.Spec.ClusterIP, replaced.Spec.ClusterIP);

        var patched = await client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"metadata":{"annotations":{"a":"b"}}}""", V1Patch.PatchType.MergePatch), "bandicoot-prod", "default", cancellationToken: Token);
        Assert.Equal("b", patched.Metadata.Annotations["a"]);

        var list = await client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: Token);
        Assert.Equal("bandicoot-prod", Assert.Single(list.Items).Metadata.Name);

        var deleted = await client.CoreV1.DeleteNamespacedServiceAsync("bandicoot-prod", "default", cancellationToken: Token);
        Assert.Equal("bandicoot-prod", deleted.Metadata.Name);
        Assert.Empty((await client.CoreV1.ListNamespacedServiceAsync("default", cancellationToken: Token)).Items);
    }

    [Fact]
    public async Task Endpoints_round_trip_and_delete_returns_a_status()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        var endpoints = EmulatorObjects.Endpoints("default", "external-db", ["10.1.0.50"], ["10.1.0.51"], EmulatorObjects.EndpointsPort(5432));

        var created = await client.CoreV1.CreateNamespacedEndpointsAsync(endpoints, "default", cancellationToken: Token);
        Assert.Equal("10.1.0.51", created.Subsets.Single().NotReadyAddresses.Single().Ip);
        Assert.Equal("TCP", created.Subsets.Single().Ports.Single().Protocol);

        created.Subsets[0].NotReadyAddresses = null;
        var replaced = await client.CoreV1.ReplaceNamespacedEndpointsAsync(created, "external-db", "default", cancellationToken: Token);
        Assert.Null(replaced.Subsets[0].NotReadyAddresses);

        var patched = await client.CoreV1.PatchNamespacedEndpointsAsync(new V1Patch("""{"metadata":{"labels":{"x":"y"}}}""", V1Patch.PatchType.StrategicMergePatch), "external-db", "default", cancellationToken: Token);
        Assert.Equal("y", patched.Metadata.Labels["x"]);

        var status = await client.CoreV1.DeleteNamespacedEndpointsAsync("external-db", "default", cancellationToken: Token);
        Assert.Equal("Success", status.Status);
    }

    [Fact]
    public async Task Pod_round_trip_keeps_status_from_the_store_api()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        emulator.Apply(EmulatorObjects.Pod("default", "alpaca-1", new Dictionary<string, string> { ["app"] = "alpaca" }, "10.1.0.9"));

        var pods = await client.CoreV1.ListNamespacedPodAsync("default", labelSelector: "app=alpaca", cancellationToken: Token);
        var pod = Assert.Single(pods.Items);
        Assert.Equal("10.1.0.9", pod.Status.PodIP);
        Assert.Equal("True", pod.Status.Conditions.Single(c => c.Type == "Ready").Status);

        var created = await client.CoreV1.CreateNamespacedPodAsync(EmulatorObjects.Pod("default", "alpaca-2", new Dictionary<string, string> { ["app"] = "alpaca" }, "10.1.0.10"), "default", cancellationToken: Token);
        Assert.Equal("Pending", created.Status.Phase);

        var patched = await client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch("""{"status":{"phase":"Running","podIP":"10.1.0.10"}}""", V1Patch.PatchType.MergePatch), "alpaca-2", "default", cancellationToken: Token);
        Assert.Equal("Running", patched.Status.Phase);

        var deleted = await client.CoreV1.DeleteNamespacedPodAsync("alpaca-2", "default", cancellationToken: Token);
        Assert.Equal("alpaca-2", deleted.Metadata.Name);
    }

    [Fact]
    public async Task Namespace_delete_removes_its_contents()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        emulator.ApplyServiceWithEndpoints("gone", "alpaca-prod", 8080, ["10.1.0.1"]);
        var ns = await client.CoreV1.ReadNamespaceAsync("gone", cancellationToken: Token);
        Assert.Equal("Active", ns.Status.Phase);
        Assert.Equal("gone", ns.Metadata.Labels["kubernetes.io/metadata.name"]);

        // Like the real server, DELETE answers with the namespace (Terminating); the typed client expects a Status, so read it raw.
        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var response = await http.DeleteAsync("api/v1/namespaces/gone", Token);
        var body = await response.Content.ReadAsStringAsync(Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"kind\":\"Namespace\"", body, StringComparison.Ordinal);
        Assert.Contains("\"phase\":\"Terminating\"", body, StringComparison.Ordinal);

        Assert.Empty((await client.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(cancellationToken: Token)).Items);
        Assert.Null(emulator.Get<V1Service>("gone", "alpaca-prod"));
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.CreateNamespacedServiceAsync(EmulatorObjects.Service("gone", "x", EmulatorObjects.ServicePort(80)), "gone", cancellationToken: Token));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.Response.StatusCode);
        Assert.Contains("""namespaces \"gone\" not found""", missing.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watches_of_every_kind_see_added_modified_and_deleted()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        using var deadline = TestEmulator.Deadline();
        var start = emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture);

        var services = Collect(client.CoreV1.WatchListNamespacedServiceAsync("demo", resourceVersion: start, onError: e => throw e, cancellationToken: deadline.Token), 3, deadline.Token);
        var endpoints = Collect(client.CoreV1.WatchListNamespacedEndpointsAsync("demo", resourceVersion: start, onError: e => throw e, cancellationToken: deadline.Token), 3, deadline.Token);
        var slices = Collect(client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", resourceVersion: start, onError: e => throw e, cancellationToken: deadline.Token), 3, deadline.Token);
        var pods = Collect(client.CoreV1.WatchListNamespacedPodAsync("demo", resourceVersion: start, onError: e => throw e, cancellationToken: deadline.Token), 3, deadline.Token);
        var namespaces = Collect(client.CoreV1.WatchListNamespaceAsync(resourceVersion: start, onError: e => throw e, cancellationToken: deadline.Token), 2, deadline.Token);
        await emulator.WaitForOpenWatchesAsync(5, deadline.Token);

        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        emulator.Apply(EmulatorObjects.Pod("demo", "p", new Dictionary<string, string> { ["app"] = "alpaca-prod" }, "10.1.0.1"));
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8081, ["10.1.0.2"]);
        emulator.Apply(EmulatorObjects.Pod("demo", "p", new Dictionary<string, string> { ["app"] = "alpaca-prod" }, "10.1.0.2"));
        emulator.Delete<V1Namespace>("", "demo");

        var expected = new[] { WatchEventType.Added, WatchEventType.Modified, WatchEventType.Deleted };
        Assert.Equal(expected, await services);
        Assert.Equal(expected, await endpoints);
        Assert.Equal(expected, await slices);
        Assert.Equal(expected, await pods);
        Assert.Equal([WatchEventType.Added, WatchEventType.Deleted], await namespaces);
    }

    private static async Task<List<WatchEventType>> Collect<T>(IAsyncEnumerable<(WatchEventType, T)> watch, int count, CancellationToken token)
    {
        var types = new List<WatchEventType>();
        await foreach (var (type, _) in watch.WithCancellation(token))
        {
            types.Add(type);
            if (types.Count == count)
            {
                break;
            }
        }

        return types;
    }

    private static long Revision(V1EndpointSlice obj) => long.Parse(obj.Metadata.ResourceVersion, CultureInfo.InvariantCulture);
}
