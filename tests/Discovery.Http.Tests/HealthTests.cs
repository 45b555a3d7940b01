using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Http.Tests;

public sealed class HealthTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    private static async Task SendAsync(HttpClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }
    }

    [Fact]
    public async Task Connect_failure_ejects_until_the_back_off_ends_and_the_back_off_doubles_on_repeat()
    {
        var time = new FakeTimeProvider();
        await using var live = await Backend.StartAsync("pod-live");
        var dead = Ports.Refusing();
        var recorder = new RecordingHandler();
        await using var services = TestServices.Create(
            s => s.AddHttpClient("h")
                .ConfigurePrimaryHttpMessageHandler(() => recorder)
                .AddKubernetesDiscovery(o =>
                {
                    o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                    o.PassiveHealth.BaseEjectionDuration = TimeSpan.FromSeconds(10);
                }),
            timeProvider: time);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(dead.Address, dead.Port, "pod-dead"), FakeEndpointResolver.Endpoint(live));
        var client = services.Client("h");
        int DeadAttempts() => recorder.Seen.Count(s => s.Uri!.Authority == $"{dead.Address}:{dead.Port}");

        // The first pick is the dead endpoint: refused, ejected, and the request retried on the live one.
        await SendAsync(client, 1);
        Assert.Equal(1, DeadAttempts());
        Assert.Equal(1, live.Requests);

        await SendAsync(client, 10);
        Assert.Equal(1, DeadAttempts());
        Assert.Equal(11, live.Requests);

        // After the first back-off (10 s) it is tried again, fails, and is ejected for twice as long.
        time.Advance(TimeSpan.FromSeconds(10));
        await SendAsync(client, 2);
        Assert.Equal(2, DeadAttempts());
        time.Advance(TimeSpan.FromSeconds(10));
        await SendAsync(client, 4);
        Assert.Equal(2, DeadAttempts());
        time.Advance(TimeSpan.FromSeconds(10));
        await SendAsync(client, 2);
        Assert.Equal(3, DeadAttempts());
        Assert.Equal(19, live.Requests);
    }

    [Fact]
    public async Task An_endpoint_back_from_ejection_is_logged_and_counted_once_per_ejection()
    {
        var time = new FakeTimeProvider();
        await using var live = await Backend.StartAsync("pod-live");
        var dead = Ports.Refusing();
        await using var services = TestServices.Create(
            s =>
            {
                s.AddFakeLogging();
                s.AddHttpClient("h").AddKubernetesDiscovery(o =>
                {
                    o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                    o.PassiveHealth.BaseEjectionDuration = TimeSpan.FromSeconds(10);
                    o.EndpointMetricTags = true;
                });
            },
            timeProvider: time);
        using var readmissions = new MetricCollector<long>(services.Get<IMeterFactory>(), DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Readmissions);
        var logs = services.Provider.GetFakeLogCollector();
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(dead.Address, dead.Port, "pod-dead"), FakeEndpointResolver.Endpoint(live));
        var client = services.Client("h");
        string[] Readmitted() => [.. logs.GetSnapshot().Where(r => r.Id.Name == "Readmitted").Select(r => r.Message)];

        await SendAsync(client, 4);
        Assert.Empty(Readmitted());

        // The back-off ends: the next request sees the endpoint back (it fails again and is ejected for longer).
        time.Advance(TimeSpan.FromSeconds(10));
        await SendAsync(client, 4);
        var message = Assert.Single(Readmitted());
        Assert.Contains($"{dead.Address}:{dead.Port}", message, StringComparison.Ordinal);
        Assert.Contains("pod-dead", message, StringComparison.Ordinal);
        var measurement = Assert.Single(readmissions.GetMeasurementSnapshot());
        Assert.Equal(dead.Address, measurement.Tags[DiscoveryHttpInstrumentation.PeerAddressTag]);
        Assert.Equal(dead.Port, measurement.Tags[DiscoveryHttpInstrumentation.PeerPortTag]);
        Assert.Equal("pod-dead", measurement.Tags[DiscoveryHttpInstrumentation.PodTag]);

        time.Advance(TimeSpan.FromSeconds(20));
        await SendAsync(client, 4);
        Assert.Equal(2, Readmitted().Length);
        Assert.Equal(2, readmissions.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public async Task Consecutive_server_errors_eject_and_a_success_resets_the_count()
    {
        var time = new FakeTimeProvider();
        await using var good = await Backend.StartAsync("pod-good");
        await using var bad = await Backend.StartAsync("pod-bad");
        var failing = true;
        bad.Behavior = context =>
        {
            context.Response.StatusCode = failing ? 500 : 200;
            return Task.CompletedTask;
        };
        await using var services = TestServices.Create(
            s => s.AddHttpClient("h").AddKubernetesDiscovery(o =>
            {
                o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                o.PassiveHealth.ConsecutiveFailures = 3;
            }),
            timeProvider: time);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(good), FakeEndpointResolver.Endpoint(bad));
        var client = services.Client("h");

        // Two failures, then a success: the count starts over.
        await SendAsync(client, 4);
        failing = false;
        await SendAsync(client, 2);
        failing = true;
        await SendAsync(client, 4);
        Assert.Equal(5, bad.Requests);

        // The third consecutive failure ejects it.
        await SendAsync(client, 2);
        Assert.Equal(6, bad.Requests);
        await SendAsync(client, 10);
        Assert.Equal(6, bad.Requests);
        Assert.Equal(16, good.Requests);
    }

    [Fact]
    public async Task Ejections_are_capped_at_a_share_of_the_set()
    {
        var time = new FakeTimeProvider();
        var backends = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Backend.StartAsync($"pod-{i}")));
        foreach (var failing in backends.Skip(1))
        {
            failing.Behavior = context =>
            {
                context.Response.StatusCode = 503;
                return Task.CompletedTask;
            };
        }

        await using var services = TestServices.Create(
            s => s.AddHttpClient("h").AddKubernetesDiscovery(o =>
            {
                o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                o.PassiveHealth.ConsecutiveFailures = 1;
                o.PassiveHealth.MaxEjectedShare = 0.5;
            }),
            timeProvider: time);
        using var ejections = new MetricCollector<long>(services.Get<IMeterFactory>(), DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Ejections);
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);

        await SendAsync(services.Client("h"), 40);

        Assert.Equal(2, ejections.GetMeasurementSnapshot().Count);
        Assert.Equal(1, backends.Skip(1).Count(b => b.Requests > 5));
        Assert.All(ejections.GetMeasurementSnapshot(), m => Assert.Equal("server_error", m.Tags[DiscoveryHttpInstrumentation.ReasonTag]));
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task When_every_endpoint_is_ejected_all_are_used()
    {
        var time = new FakeTimeProvider();
        await using var a = await Backend.StartAsync("pod-a");
        await using var b = await Backend.StartAsync("pod-b");
        a.Behavior = b.Behavior = context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        };
        await using var services = TestServices.Create(
            s => s.AddHttpClient("h").AddKubernetesDiscovery(o =>
            {
                o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                o.PassiveHealth.ConsecutiveFailures = 1;
                o.PassiveHealth.MaxEjectedShare = 1.0;
            }),
            timeProvider: time);
        using var ejections = new MetricCollector<long>(services.Get<IMeterFactory>(), DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Ejections);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(a), FakeEndpointResolver.Endpoint(b));

        await SendAsync(services.Client("h"), 10);

        Assert.Equal(2, ejections.GetMeasurementSnapshot().Count);
        Assert.Equal(10, a.Requests + b.Requests);
        Assert.True(a.Requests >= 4 && b.Requests >= 4, $"a={a.Requests} b={b.Requests}");
    }

    [Fact]
    public async Task Ejection_state_carries_over_to_the_next_snapshot()
    {
        var time = new FakeTimeProvider();
        await using var live = await Backend.StartAsync("pod-live");
        await using var other = await Backend.StartAsync("pod-other");
        var dead = Ports.Refusing();
        await using var services = TestServices.Create(
            s => s.AddHttpClient("h").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin),
            timeProvider: time);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(dead.Address, dead.Port), FakeEndpointResolver.Endpoint(live));
        var client = services.Client("h");
        await SendAsync(client, 1);

        // A new snapshot (another pod joins) still knows the dead endpoint is ejected.
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(dead.Address, dead.Port), FakeEndpointResolver.Endpoint(live), FakeEndpointResolver.Endpoint(other));
        await SendAsync(client, 10);

        Assert.Equal(11, live.Requests + other.Requests);
        Assert.Equal(5, other.Requests);
    }
}
