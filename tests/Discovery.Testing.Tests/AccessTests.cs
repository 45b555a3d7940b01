using System.Net;
using k8s;
using k8s.Autorest;

namespace Discovery.Testing.Tests;

/// <summary>Bearer-token authentication (401) and access rules (403) as the stock client sees them.</summary>
public sealed class AccessTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Required_token_rejects_other_and_missing_tokens_with_401()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.RequiredBearerToken = "s3cret");
        using var good = (Kubernetes)emulator.CreateClient();
        using var wrong = (Kubernetes)emulator.CreateClient("not-a-valid-token");
        using var none = new Kubernetes(new KubernetesClientConfiguration { Host = emulator.BaseAddress.ToString() });

        Assert.NotEmpty((await good.CoreV1.ListNamespaceAsync(cancellationToken: Token)).Items);
        foreach (var client in new[] { wrong, none })
        {
            var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ListNamespaceAsync(cancellationToken: Token));
            Assert.Equal(HttpStatusCode.Unauthorized, error.Response.StatusCode);
            Assert.Equal("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}""" + "\n", error.Response.Content);
        }
    }

    [Fact]
    public async Task Token_can_be_rotated_at_runtime()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.RequiredBearerToken = "first");
        using var first = (Kubernetes)emulator.CreateClient("first");
        using var second = (Kubernetes)emulator.CreateClient("second");

        emulator.Access.RequiredBearerToken = "second";

        Assert.NotEmpty((await second.CoreV1.ListNamespaceAsync(cancellationToken: Token)).Items);
        var error = await Assert.ThrowsAsync<HttpOperationException>(() => first.CoreV1.ListNamespaceAsync(cancellationToken: Token));
        Assert.Equal(HttpStatusCode.Unauthorized, error.Response.StatusCode);
    }

    [Fact]
    public async Task Denied_list_and_watch_get_403_with_the_real_message()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        emulator.Access.Deny("demo", "endpointslices", "list");
        emulator.Access.Deny("demo", "endpointslices", "watch");

        var list = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", cancellationToken: Token));
        Assert.Equal(HttpStatusCode.Forbidden, list.Response.StatusCode);
        Assert.Equal(
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"endpointslices.discovery.k8s.io is forbidden: User \"system:serviceaccount:default:discovery\" cannot list resource \"endpointslices\" in API group \"discovery.k8s.io\" in the namespace \"demo\"","reason":"Forbidden","details":{"group":"discovery.k8s.io","kind":"endpointslices"},"code":403}""" + "\n",
            list.Response.Content);
        Assert.Equal("nosniff", list.Response.Headers["X-Content-Type-Options"].Single());

        var watch = await Assert.ThrowsAsync<HttpOperationException>(async () =>
        {
            await foreach (var _ in client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync("demo", cancellationToken: Token))
            {
            }
        });
        Assert.Equal(HttpStatusCode.Forbidden, watch.Response.StatusCode);
        Assert.Contains("cannot watch resource", watch.Response.Content, StringComparison.Ordinal);

        // Other namespaces and other resources stay readable.
        await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("other", cancellationToken: Token);
        await client.CoreV1.ListNamespacedServiceAsync("demo", cancellationToken: Token);
    }

    [Fact]
    public async Task Cluster_scope_denial_and_get_of_a_named_core_object()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.UserName = "system:serviceaccount:demo:app");
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        using var client = (Kubernetes)emulator.CreateClient();
        emulator.Access.DenyAtClusterScope("endpointslices", "list");
        emulator.Access.Deny(null, "services", "get");

        var all = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.ListEndpointSliceForAllNamespacesAsync(cancellationToken: Token));
        Assert.Contains("""User \"system:serviceaccount:demo:app\" cannot list resource \"endpointslices\" in API group \"discovery.k8s.io\" at the cluster scope""", all.Response.Content, StringComparison.Ordinal);
        Assert.NotEmpty((await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", cancellationToken: Token)).Items);

        var get = await Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReadNamespacedServiceAsync("alpaca-prod", "demo", cancellationToken: Token));
        Assert.Contains("""services \"alpaca-prod\" is forbidden: User \"system:serviceaccount:demo:app\" cannot get resource \"services\" in API group \"\" in the namespace \"demo""", get.Response.Content, StringComparison.Ordinal);
        Assert.Contains("\"details\":{\"name\":\"alpaca-prod\",\"kind\":\"services\"}", get.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restricted_user_can_do_only_what_is_granted()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.Access.AddUser("reader-token", "system:serviceaccount:demo:reader", restricted: true);
        emulator.Access.Grant("system:serviceaccount:demo:reader", "demo", ["endpointslices", "services"], ["get", "list", "watch"]);
        using var reader = (Kubernetes)emulator.CreateClient("reader-token");

        await reader.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", cancellationToken: Token);
        var pods = await Assert.ThrowsAsync<HttpOperationException>(() => reader.CoreV1.ListNamespacedPodAsync("demo", cancellationToken: Token));
        Assert.Contains("""pods is forbidden: User \"system:serviceaccount:demo:reader\" cannot list resource \"pods\" in API group \"\" in the namespace \"demo""", pods.Response.Content, StringComparison.Ordinal);
        var other = await Assert.ThrowsAsync<HttpOperationException>(() => reader.DiscoveryV1.ListNamespacedEndpointSliceAsync("default", cancellationToken: Token));
        Assert.Equal(HttpStatusCode.Forbidden, other.Response.StatusCode);

        emulator.Access.Clear();
        await reader.CoreV1.ListNamespacedPodAsync("demo", cancellationToken: Token);
    }
}
