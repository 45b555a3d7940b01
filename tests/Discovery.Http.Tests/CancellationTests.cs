using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Discovery.Http.Tests;

/// <summary>
/// Issue #11: only the endpoint's own failures count against it. When the caller gives up (its token, <c>HttpClient.Timeout</c>,
/// a hedging attempt that lost) the endpoint is neither ejected nor judged slow.
/// </summary>
public sealed class CancellationTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task A_request_the_caller_cancels_does_not_count_against_the_endpoint()
    {
        await using var pods = await PodsAsync();
        var client = pods.Services.Client("c");
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var request = client.GetAsync("http://alpaca-prod/", cancel.Token);
        await pods.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        await pods.AssertBothStillInRotationAsync(client);
    }

    [Fact]
    public async Task A_request_that_runs_into_HttpClient_Timeout_does_not_count_against_the_endpoint()
    {
        await using var pods = await PodsAsync();
        var client = pods.Services.Client("c");
        client.Timeout = TimeSpan.FromMilliseconds(500);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));
        Assert.True(pods.Arrived.Task.IsCompleted);

        await pods.AssertBothStillInRotationAsync(client);
    }

    [Fact]
    public async Task The_losing_attempt_of_the_standard_hedging_handler_does_not_count_against_its_endpoint()
    {
        await using var pods = await PodsAsync(b => b.AddStandardHedgingHandler().Configure(o =>
        {
            o.Hedging.Delay = TimeSpan.FromMilliseconds(100);
            o.Hedging.MaxHedgedAttempts = 1;
        }));
        var client = pods.Services.Client("c");

        // The first attempt hangs on one pod; the hedged one goes to the other, which answers, and the first is cancelled.
        using var response = await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        await pods.Durations.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(30));
        Assert.Contains(pods.Durations.GetMeasurementSnapshot(), m => m.Tags.TryGetValue("error.type", out var type) && Equals(type, "canceled"));

        await pods.AssertBothStillInRotationAsync(client);
    }

    /// <summary>
    /// Two pods behind a round-robin client that ejects after one failure; the first request to reach either pod hangs until
    /// the client gives up on it.
    /// </summary>
    private static async Task<Pods> PodsAsync(Action<IHttpClientBuilder>? configure = null)
    {
        var backends = await Task.WhenAll(Backend.StartAsync("pod-a"), Backend.StartAsync("pod-b"));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hung = 0;
        foreach (var backend in backends)
        {
            var self = backend;
            backend.Behavior = async context =>
            {
                if (Interlocked.Exchange(ref hung, 1) == 0)
                {
                    arrived.TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    return;
                }

                await context.Response.WriteAsync(self.Name);
            };
        }

        var services = TestServices.Create(s =>
        {
            var builder = s.AddHttpClient("c").AddKubernetesDiscovery(o =>
            {
                o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                o.PassiveHealth.ConsecutiveFailures = 1;
            });
            configure?.Invoke(builder);
        });
        var meters = services.Get<IMeterFactory>();
        var pods = new Pods(
            backends,
            services,
            arrived,
            new MetricCollector<long>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.Ejections),
            new MetricCollector<double>(meters, DiscoveryHttpInstrumentation.MeterName, DiscoveryHttpInstrumentation.RequestDuration));
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);
        return pods;
    }

    private sealed record Pods(Backend[] Backends, TestServices Services, TaskCompletionSource Arrived, MetricCollector<long> Ejections, MetricCollector<double> Durations)
        : IAsyncDisposable
    {
        public async Task AssertBothStillInRotationAsync(HttpClient client)
        {
            Assert.Empty(Ejections.GetMeasurementSnapshot());
            var before = Backends.Select(b => b.Requests).ToArray();
            for (var i = 0; i < 4; i++)
            {
                (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
            }

            // Round-robin over both: neither was ejected.
            Assert.Equal(2, Backends[0].Requests - before[0]);
            Assert.Equal(2, Backends[1].Requests - before[1]);
            Assert.Empty(Ejections.GetMeasurementSnapshot());
        }

        public async ValueTask DisposeAsync()
        {
            Ejections.Dispose();
            Durations.Dispose();
            await Services.DisposeAsync();
            foreach (var backend in Backends)
            {
                await backend.DisposeAsync();
            }
        }
    }
}
