using k8s;
using k8s.Models;

namespace Discovery.Testing.Tests;

public sealed class StockClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Lists_endpoint_slices_applied_through_the_store_api()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
        using var client = (Kubernetes)emulator.CreateClient();

        var slices = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(namespaceParameter: "demo", labelSelector: "kubernetes.io/service-name=alpaca-prod", cancellationToken: TestContext.Current.CancellationToken);

        var slice = Assert.Single(slices.Items);
        Assert.Equal(["127.0.0.2", "127.0.0.3", "127.0.0.4"], slice.Endpoints.Select(e => e.Addresses.Single()));
        Assert.All(slice.Endpoints, e => Assert.True(e.Conditions.Ready));
        Assert.Equal(8080, slice.Ports.Single().Port);
        Assert.Equal(emulator.CurrentResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), slices.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Watch_sees_a_condition_change_made_through_the_store_api()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var slice = emulator.ApplyServiceWithEndpoints("demo", "alpaca-prod", 8080, ["127.0.0.2", "127.0.0.3"]);
        using var client = (Kubernetes)emulator.CreateClient();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Timeout);

        var watch = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            namespaceParameter: "demo",
            labelSelector: "kubernetes.io/service-name=alpaca-prod",
            resourceVersion: slice.Metadata.ResourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: 30,
            onError: e => throw e,
            cancellationToken: cts.Token);
        await using var events = watch.GetAsyncEnumerator(cts.Token);
        var next = events.MoveNextAsync();
        await emulator.WaitForOpenWatchesAsync(1, cts.Token);

        emulator.SetEndpointConditions("demo", slice.Metadata.Name, "127.0.0.3", ready: false);

        Assert.True(await next);
        var (type, changed) = events.Current;
        Assert.Equal(WatchEventType.Modified, type);
        Assert.False(changed.Endpoints.Single(e => e.Addresses[0] == "127.0.0.3").Conditions.Ready);
        Assert.True(long.Parse(changed.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(slice.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));
    }
}
