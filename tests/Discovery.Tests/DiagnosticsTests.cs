using Discovery.Testing;
using Discovery.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;

namespace Discovery.Tests;

/// <summary>Metrics, the health check, and what logs may never contain.</summary>
public class DiagnosticsTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_discovery_meter_reports_events_relists_reconnects_watchers_endpoints_and_age()
    {
        using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = metrics.GetRequiredService<IMeterFactory>();
        using var events = new MetricCollector<long>(factory, "Discovery", "discovery.watch.events");
        using var relists = new MetricCollector<long>(factory, "Discovery", "discovery.watch.relists");
        using var reconnects = new MetricCollector<long>(factory, "Discovery", "discovery.watch.reconnects");
        using var watchers = new MetricCollector<long>(factory, "Discovery", "discovery.watchers.active");
        using var endpoints = new MetricCollector<int>(factory, "Discovery", "discovery.endpoints");
        using var age = new MetricCollector<double>(factory, "Discovery", "discovery.snapshot.age");
        await using var test = new TestResolver(meterFactory: factory);

        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "both watches are open");
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-metrics", ("10.1.0.70", true)));
        await Eventually.True(() => events.GetMeasurementSnapshot().Count > 0, "an event is counted");
        test.Api.ExpireWatches();
        await Eventually.True(() => relists.GetMeasurementSnapshot().Count > 0, "a re-list is counted");
        test.Api.WatchFault = _ => new HttpRequestException("refused");
        test.Api.BreakWatches();
        await Eventually.True(() => reconnects.GetMeasurementSnapshot().Count > 0, "a reconnect is counted", test.Time, TimeSpan.FromMilliseconds(200));
        test.Time.Advance(TimeSpan.FromSeconds(3));
        endpoints.RecordObservableInstruments();
        age.RecordObservableInstruments();

        var added = events.GetMeasurementSnapshot().First(m => Equals(m.Tags["discovery.event.type"], "Added"));
        Assert.Equal("alpaca-prod", added.Tags["k8s.service.name"]);
        Assert.Equal("endpointslices", added.Tags["discovery.resource"]);
        Assert.Equal(1, watchers.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(4, endpoints.LastMeasurement!.Value);
        Assert.Equal("demo", endpoints.LastMeasurement.Tags["k8s.namespace.name"]);
        Assert.True(age.LastMeasurement!.Value >= 3);
        test.Api.WatchFault = null;
    }

    [Fact]
    public async Task The_health_check_reports_unsynced_and_stale_watchers()
    {
        await using var test = new TestResolver();
        var check = new KubernetesDiscoveryHealthCheck(test.Resolver, Options.Create(test.Options));
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("discovery", check, HealthStatus.Degraded, null) };
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(context, Token)).Status);

        test.Api.ListFault = _ => new HttpRequestException("refused");
        test.Api.WatchFault = _ => new HttpRequestException("refused");
        test.Api.BreakWatches();
        var missing = test.Resolver.GetSnapshotAsync(TestResolver.Key("bandicoot-prod"), Token).AsTask();
        await Eventually.True(() => test.Resolver.GetWatcherStatuses().All(s => s.LastError is not null), "both watchers fail");
        await Eventually.True(() => missing.IsCompleted && test.Resolver.GetWatcherStatuses().Any(s => s.IsStale), "the timeouts pass", test.Time, TimeSpan.FromSeconds(1));
        var result = await check.CheckHealthAsync(context, Token);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("demo/bandicoot-prod", result.Description, StringComparison.Ordinal);
        Assert.Contains("stale", result.Description, StringComparison.Ordinal);
        Assert.Contains("demo/alpaca-prod", result.Description, StringComparison.Ordinal);
        test.Api.ListFault = null;
        test.Api.WatchFault = null;
        await Assert.ThrowsAsync<KubernetesApiUnavailableException>(() => missing);
    }

    [Fact]
    public async Task Tokens_never_appear_in_logs_during_an_authentication_failure()
    {
        const string RequiredToken = "required-token-7f3a9c2e5b1d";
        const string WrongToken = "wrong-token-9e8d7c6b5a4f";
        await using var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions { RequiredBearerToken = RequiredToken }, Token);
        EmulatorFixtures.ApplyAll(emulator);
        var collector = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));
        var time = new FakeTimeProvider();
        var options = new KubernetesDiscoveryOptions { Namespace = "demo", ReconnectBaseDelay = TimeSpan.FromMilliseconds(10), ReconnectMaxDelay = TimeSpan.FromMilliseconds(50) };
        using var client = emulator.CreateClient(WrongToken);
        await using var resolver = new KubernetesServiceEndpointResolver(client, options, time, loggerFactory);

        var error = await Assert.ThrowsAsync<KubernetesApiUnavailableException>(async () => await resolver.GetSnapshotAsync(Alpaca, Token));
        await Eventually.True(() => collector.GetSnapshot().Count(r => r.Level == LogLevel.Warning) >= 2, "retries are logged", time, TimeSpan.FromMilliseconds(50));

        Assert.Contains("401", error.Message, StringComparison.Ordinal);
        var everything = string.Join("\n", collector.GetSnapshot().Select(r => r.Message + " " + r.Exception + " " + string.Join(",", r.StructuredState?.Select(kv => kv.Value) ?? [])));
        Assert.NotEmpty(everything);
        Assert.DoesNotContain(WrongToken, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(RequiredToken, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongToken, error.ToString(), StringComparison.Ordinal);
    }
}
