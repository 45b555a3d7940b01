using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using k8s.Models;

namespace Discovery.Tests;

/// <summary>
/// One event can carry a huge object. Every step from the object to a port selection must stay linear. The bound is
/// many times what a linear build takes (well under a second alone; 1.9 s for the whole 50,000-endpoint test at a load
/// average of 36 on two cores) and below what a quadratic step needs at these sizes (over a billion comparisons: the
/// port-name collection this guards took 15 s), so it neither flakes on a busy machine nor lets a quadratic step through.
/// </summary>
public class LargeObjectTests
{
    private const int Count = 50_000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly ServiceKey Key = new("demo", "alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void A_50000_endpoint_slice_builds_a_snapshot_and_a_port_selection_in_linear_time()
    {
        // A pod sits in two slices while the controller moves it: half of the addresses come twice.
        var first = Fixtures.Slice("alpaca-prod", "big-1", [.. Enumerable.Range(0, Count).Select(i => (Address(i), (bool?)true))]);
        var second = Fixtures.Slice("alpaca-prod", "big-2", [.. Enumerable.Range(Count / 2, Count).Select(i => (Address(i), (bool?)(i % 2 == 0)))]);
        var interner = new EndpointInterner();
        var info = new KubernetesServiceInfo("ClusterIP", "10.96.0.1", true, null, [new ServicePortInfo("http", 80, "8080", "TCP", null, null)], [], "1");

        var stopwatch = Stopwatch.StartNew();
        var published = Build(1);
        var rebuilt = Build(2);
        var selection = rebuilt.SelectPort(80, null, "http", null);
        var same = SnapshotContent.IsSame(published, rebuilt);
        stopwatch.Stop();

        Assert.Equal(Count * 3 / 2, published.Endpoints.Length);
        Assert.Equal(Count + (Count / 4), selection.Targets.Length);
        Assert.True(same);
        Assert.True(stopwatch.Elapsed < Bound, $"took {stopwatch.Elapsed}");

        ServiceEndpointSnapshot Build(long version)
            => new(Key, true, info, EndpointSourceKind.EndpointSlices, interner.Intern(KubernetesObjectConverter.FromSlices([first, second])), version, "1", DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public void Pods_that_each_publish_their_own_port_name_select_a_port_in_linear_time()
    {
        var endpoints = Enumerable.Range(0, Count)
            .Select(i => new ServiceEndpoint(Address(i), AddressFamily.InterNetwork, [new EndpointPort("p" + i.ToString(CultureInfo.InvariantCulture), 8080, "TCP", null)], true, true, false))
            .ToArray();
        var snapshot = new ServiceEndpointSnapshot(Key, true, null, EndpointSourceKind.Pods, [.. endpoints], 1, "1", DateTimeOffset.UnixEpoch);

        var stopwatch = Stopwatch.StartNew();
        var selection = snapshot.SelectPort(null, "p7", "http", null);
        var error = Assert.Throws<ServicePortNotFoundException>(() => snapshot.SelectPort(null, null, "http", null));
        stopwatch.Stop();

        Assert.Equal(Address(7), Assert.Single(selection.Targets).Endpoint.Address);
        Assert.Equal(Count, error.AvailablePorts.Count);
        Assert.True(stopwatch.Elapsed < Bound, $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task One_event_with_100000_endpoints_is_published_through_the_watcher()
    {
        await using var test = new TestResolver();
        await test.Resolver.GetSnapshotAsync(TestResolver.Key("alpaca-prod"), Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "huge", [.. Enumerable.Range(0, 2 * Count).Select(i => (Address(i), (bool?)true))]));

        // Eventually's real-time bound (30 s) is the generous limit here: a quadratic build of 100,000 endpoints takes minutes.
        await Eventually.True(() => test.Resolver.TryGetSnapshot(TestResolver.Key("alpaca-prod"), out var s) && s.Endpoints.Length >= 2 * Count, "the huge slice is published");
    }

    private static string Address(int i) => string.Create(CultureInfo.InvariantCulture, $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}");
}
