using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Discovery.Testing.Tests;

/// <summary>Paging, selectors and resourceVersion semantics of lists.</summary>
public sealed class ListTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Pages_through_slices_with_continue_tokens_at_the_first_page_revision()
    {
        await using var emulator = await TestEmulator.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            emulator.Apply(EmulatorObjects.EndpointSlice("demo", "svc", $"svc-{i}", 80, "http", [$"10.1.0.{i + 1}"]));
        }

        using var client = (Kubernetes)emulator.CreateClient();
        var first = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", limit: 3, cancellationToken: Token);
        Assert.Equal(["svc-0", "svc-1", "svc-2"], first.Items.Select(i => i.Metadata.Name));
        Assert.Equal(4, first.Metadata.RemainingItemCount);

        // A change between pages does not show up: pages are served at the first page's revision.
        emulator.Apply(EmulatorObjects.EndpointSlice("demo", "svc", "svc-3", 80, "http", ["10.9.9.9"]));

        var second = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", limit: 3, continueParameter: first.Metadata.ContinueProperty, cancellationToken: Token);
        Assert.Equal(["svc-3", "svc-4", "svc-5"], second.Items.Select(i => i.Metadata.Name));
        Assert.Equal("10.1.0.4", second.Items[0].Endpoints.Single().Addresses.Single());
        Assert.Equal(first.Metadata.ResourceVersion, second.Metadata.ResourceVersion);
        Assert.Equal(1, second.Metadata.RemainingItemCount);

        var last = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", limit: 3, continueParameter: second.Metadata.ContinueProperty, cancellationToken: Token);
        Assert.Equal(["svc-6"], last.Items.Select(i => i.Metadata.Name));
        Assert.Null(last.Metadata.ContinueProperty);
        Assert.Null(last.Metadata.RemainingItemCount);
    }

    [Fact]
    public async Task Expired_continue_token_gets_410_with_a_fresh_token()
    {
        await using var emulator = await TestEmulator.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            emulator.Apply(EmulatorObjects.EndpointSlice("demo", "svc", $"svc-{i}", 80, "http", [$"10.1.0.{i + 1}"]));
        }

        using var client = (Kubernetes)emulator.CreateClient();
        var first = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", limit: 1, cancellationToken: Token);
        emulator.Apply(EmulatorObjects.EndpointSlice("demo", "svc", "svc-9", 80, "http", ["10.1.0.9"]));
        emulator.CompactNow();

        var error = await Assert.ThrowsAsync<HttpOperationException>(() => client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", limit: 1, continueParameter: first.Metadata.ContinueProperty, cancellationToken: Token));
        Assert.Equal(HttpStatusCode.Gone, error.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        Assert.Equal("Expired", status.Reason);
        Assert.StartsWith("The provided continue parameter is too old", status.Message, StringComparison.Ordinal);

        var inconsistent = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", limit: 10, continueParameter: status.Metadata.ContinueProperty, cancellationToken: Token);
        Assert.Equal(["svc-1", "svc-2", "svc-9"], inconsistent.Items.Select(i => i.Metadata.Name));
    }

    [Theory]
    [InlineData("app=alpaca", "a,b")]
    [InlineData("app==alpaca", "a,b")]
    [InlineData("app!=alpaca", "c,d")]
    [InlineData("app in (alpaca, bandicoot)", "a,b,c")]
    [InlineData("app notin (alpaca)", "c,d")]
    [InlineData("tier", "b,c")]
    [InlineData("!tier", "a,d")]
    [InlineData("app=alpaca,tier=backend", "b")]
    [InlineData("app=alpaca, !tier", "a")]
    [InlineData("", "a,b,c,d")]
    public async Task Label_selectors_filter_like_kubernetes(string selector, string expected)
    {
        await using var emulator = await TestEmulator.StartAsync();
        Pod(emulator, "a", new() { ["app"] = "alpaca" });
        Pod(emulator, "b", new() { ["app"] = "alpaca", ["tier"] = "backend" });
        Pod(emulator, "c", new() { ["app"] = "bandicoot", ["tier"] = "backend" });
        Pod(emulator, "d", new() { ["other"] = "x" });
        using var client = (Kubernetes)emulator.CreateClient();

        var pods = await client.CoreV1.ListNamespacedPodAsync("demo", labelSelector: selector, cancellationToken: Token);

        Assert.Equal(expected, string.Join(",", pods.Items.Select(p => p.Metadata.Name)));
    }

    [Theory]
    [InlineData("metadata.name=b", "demo/b,other/b")]
    [InlineData("metadata.name==a", "demo/a")]
    [InlineData("metadata.name!=b", "demo/a")]
    [InlineData("metadata.namespace=other", "other/b")]
    [InlineData("metadata.namespace!=other,metadata.name!=a", "demo/b")]
    public async Task Field_selectors_filter_by_name_and_namespace(string selector, string expected)
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.Apply(EmulatorObjects.Service("demo", "a", EmulatorObjects.ServicePort(80)));
        emulator.Apply(EmulatorObjects.Service("demo", "b", EmulatorObjects.ServicePort(80)));
        emulator.Apply(EmulatorObjects.Service("other", "b", EmulatorObjects.ServicePort(80)));
        using var client = (Kubernetes)emulator.CreateClient();

        var services = await client.CoreV1.ListServiceForAllNamespacesAsync(fieldSelector: selector, cancellationToken: Token);

        Assert.Equal(expected, string.Join(",", services.Items.Select(s => s.Metadata.NamespaceProperty + "/" + s.Metadata.Name)));
    }

    [Theory]
    [InlineData("labelSelector", "app in (a")]
    [InlineData("labelSelector", "a b")]
    [InlineData("labelSelector", "=x")]
    [InlineData("fieldSelector", "spec.clusterIP=1.2.3.4")]
    [InlineData("fieldSelector", "nonsense")]
    public async Task Bad_selectors_get_400(string parameter, string selector)
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };

        using var response = await http.GetAsync($"api/v1/services?{parameter}={Uri.EscapeDataString(selector)}", Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"reason\":\"BadRequest\"", await response.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exact_list_at_an_older_revision_shows_that_state()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var slice = emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["10.1.0.1"]);
        var before = emulator.CurrentResourceVersion;
        emulator.SetEndpointConditions("demo", slice.Metadata.Name, "10.1.0.1", ready: false);
        emulator.Apply(EmulatorObjects.EndpointSlice("demo", "alpaca-prod", "later", 8080, "http", ["10.1.0.2"]));
        using var client = (Kubernetes)emulator.CreateClient();

        var old = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", resourceVersion: before.ToString(CultureInfo.InvariantCulture), resourceVersionMatch: "Exact", cancellationToken: Token);
        var now = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", resourceVersion: before.ToString(CultureInfo.InvariantCulture), cancellationToken: Token);

        Assert.True(Assert.Single(old.Items).Endpoints.Single().Conditions.Ready);
        Assert.Equal(before.ToString(CultureInfo.InvariantCulture), old.Metadata.ResourceVersion);
        Assert.Equal(2, now.Items.Count);
        Assert.Equal(emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture), now.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task List_revision_advances_with_unrelated_writes()
    {
        await using var emulator = await TestEmulator.StartAsync();
        using var client = (Kubernetes)emulator.CreateClient();
        var before = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", cancellationToken: Token);

        emulator.AdvanceResourceVersion();
        var after = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync("demo", cancellationToken: Token);

        Assert.True(long.Parse(after.Metadata.ResourceVersion, CultureInfo.InvariantCulture) > long.Parse(before.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
    }

    private static void Pod(KubernetesApiEmulator emulator, string name, Dictionary<string, string> labels) =>
        emulator.Apply(EmulatorObjects.Pod("demo", name, labels, "10.1.0.1"));
}
