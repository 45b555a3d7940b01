using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

public sealed class ZoneTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    private static async Task<Backend[]> StartAsync(int count)
        => await Task.WhenAll(Enumerable.Range(0, count).Select(i => Backend.StartAsync($"pod-{i}")));

    private static async Task SendAsync(HttpClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }
    }

    private static TestServices Create(Action<DiscoveryHttpClientOptions>? configure = null)
        => TestServices.Create(s => s.AddHttpClient("z").AddKubernetesDiscovery(o =>
        {
            o.Zone = "zone-a";
            o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
            configure?.Invoke(o);
        }));

    [Fact]
    public async Task Requests_stay_in_the_callers_zone()
    {
        var b = await StartAsync(4);
        await using var services = Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint(b[0], zone: "zone-a"),
            FakeEndpointResolver.Endpoint(b[1], zone: "zone-b"),
            FakeEndpointResolver.Endpoint(b[2], zone: "zone-a"),
            FakeEndpointResolver.Endpoint(b[3], zone: "zone-b"));

        await SendAsync(services.Client("z"), 20);

        Assert.Equal([10, 0, 10, 0], b.Select(x => x.Requests));
        await Task.WhenAll(b.Select(x => x.DisposeAsync().AsTask()));
    }

    [Fact]
    public async Task Topology_hints_decide_when_every_endpoint_has_them()
    {
        var b = await StartAsync(3);
        await using var services = Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint(b[0], zone: "zone-a", hints: ["zone-b"]),
            FakeEndpointResolver.Endpoint(b[1], zone: "zone-b", hints: ["zone-a"]),
            FakeEndpointResolver.Endpoint(b[2], zone: "zone-c", hints: ["zone-c"]));

        await SendAsync(services.Client("z"), 6);

        Assert.Equal([0, 6, 0], b.Select(x => x.Requests));
        await Task.WhenAll(b.Select(x => x.DisposeAsync().AsTask()));
    }

    [Fact]
    public async Task A_thinly_populated_zone_falls_back_to_all_zones()
    {
        var b = await StartAsync(4);
        await using var services = Create(o => o.MinLocalZoneShare = 0.5);
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint(b[0], zone: "zone-a"),
            FakeEndpointResolver.Endpoint(b[1], zone: "zone-b"),
            FakeEndpointResolver.Endpoint(b[2], zone: "zone-b"),
            FakeEndpointResolver.Endpoint(b[3], zone: "zone-c"));

        await SendAsync(services.Client("z"), 20);

        Assert.All(b, x => Assert.Equal(5, x.Requests));
        await Task.WhenAll(b.Select(x => x.DisposeAsync().AsTask()));
    }

    [Fact]
    public async Task Unhealthy_local_endpoints_fall_back_to_other_zones()
    {
        var b = await StartAsync(2);
        var dead = Ports.Refusing();
        await using var services = Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint(dead.Address, dead.Port, zone: "zone-a"),
            FakeEndpointResolver.Endpoint(b[0], zone: "zone-b"),
            FakeEndpointResolver.Endpoint(b[1], zone: "zone-c"));

        // The only local endpoint refuses: the request is retried in another zone, and the local one is ejected.
        await SendAsync(services.Client("z"), 10);

        Assert.Equal(10, b.Sum(x => x.Requests));
        Assert.All(b, x => Assert.InRange(x.Requests, 4, 6));
        await Task.WhenAll(b.Select(x => x.DisposeAsync().AsTask()));
    }

    [Fact]
    public async Task Without_a_zone_every_endpoint_is_used()
    {
        var b = await StartAsync(2);
        await using var services = Create(o => o.Zone = null);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(b[0], zone: "zone-a"), FakeEndpointResolver.Endpoint(b[1], zone: "zone-b"));

        await SendAsync(services.Client("z"), 4);

        Assert.All(b, x => Assert.Equal(2, x.Requests));
        await Task.WhenAll(b.Select(x => x.DisposeAsync().AsTask()));
    }
}
