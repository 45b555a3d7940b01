using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Discovery.Http.Tests;

public sealed class MetricsTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task Picks_duration_in_flight_and_retries_are_reported_per_endpoint()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        var dead = Ports.Refusing();
        await using var services = TestServices.Create(s => s.AddHttpClient("m").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
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
        Assert.Equal(backend.Authority, picked[1].Tags[DiscoveryHttpInstrumentation.EndpointTag]);
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
}
