using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Discovery.Http.Tests;

public sealed class MetricsTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task Picks_duration_in_flight_and_retries_are_reported_per_endpoint_when_asked()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        var dead = Ports.Refusing();
        await using var services = TestServices.Create(s => s.AddHttpClient("m").AddKubernetesDiscovery(o =>
        {
            o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
            o.EndpointMetricTags = true;
        }));
        var meters = services.Get<IMeterFactory>();
        using var picks = new MetricCollector<long>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Picks);
        using var duration = new MetricCollector<double>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.RequestDuration);
        using var active = new MetricCollector<long>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.ActiveRequests);
        using var retries = new MetricCollector<long>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Retries);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(dead.Address, dead.Port, "pod-dead"), FakeEndpointResolver.Endpoint(backend, zone: "zone-a"));

        (await services.Client("m").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();

        var picked = picks.GetMeasurementSnapshot();
        Assert.Equal(2, picked.Count);
        Assert.Equal("pod-dead", picked[0].Tags[DiscoveryHttpInstrumentation.PodTag]);
        Assert.Equal(backend.Address, picked[1].Tags[DiscoveryHttpInstrumentation.PeerAddressTag]);
        Assert.Equal(backend.Port, picked[1].Tags[DiscoveryHttpInstrumentation.PeerPortTag]);
        Assert.Equal("alpaca-prod", picked[1].Tags[DiscoveryHttpInstrumentation.ServiceTag]);
        Assert.Equal("default", picked[1].Tags[DiscoveryHttpInstrumentation.NamespaceTag]);
        Assert.Equal("zone-a", picked[1].Tags[DiscoveryHttpInstrumentation.ZoneTag]);

        var durations = duration.GetMeasurementSnapshot();
        Assert.Equal(2, durations.Count);
        Assert.Equal("connect_failure", durations[0].Tags["error.type"]);
        Assert.Equal(200, durations[1].Tags["http.response.status_code"]);
        Assert.All(durations, d => Assert.InRange(d.Value, 0, 30));

        Assert.Equal(0, active.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(4, active.GetMeasurementSnapshot().Count);
        Assert.Equal("connect_failure", Assert.Single(retries.GetMeasurementSnapshot()).Tags[DiscoveryHttpInstrumentation.ReasonTag]);
    }

    [Fact]
    public async Task Metric_tags_follow_the_semantic_conventions_and_name_no_endpoint_by_default()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        await using var services = TestServices.Create();
        var meters = services.Get<IMeterFactory>();
        using var picks = new MetricCollector<long>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Picks);
        using var duration = new MetricCollector<double>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.RequestDuration);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend, zone: "zone-a"));

        (await services.Client().GetAsync("http://alpaca-prod/items", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();

        var measured = Assert.Single(duration.GetMeasurementSnapshot());
        Assert.Equal("alpaca-prod", measured.Tags["server.address"]);
        Assert.Equal(80, measured.Tags["server.port"]);
        Assert.Equal("http", measured.Tags["url.scheme"]);
        Assert.Equal("GET", measured.Tags["http.request.method"]);
        Assert.Equal(200, measured.Tags["http.response.status_code"]);
        Assert.Equal("alpaca-prod", measured.Tags["k8s.service.name"]);
        Assert.Equal("default", measured.Tags["k8s.namespace.name"]);

        // Nothing whose values grow with pod churn.
        string[] perEndpoint = ["network.peer.address", "network.peer.port", "k8s.pod.name"];
        foreach (var tags in picks.GetMeasurementSnapshot().Select(m => m.Tags).Append(measured.Tags))
        {
            Assert.All(perEndpoint, tag => Assert.False(tags.ContainsKey(tag), tag));
        }

        Assert.Equal("zone-a", Assert.Single(picks.GetMeasurementSnapshot()).Tags[DiscoveryHttpInstrumentation.ZoneTag]);
    }
}
