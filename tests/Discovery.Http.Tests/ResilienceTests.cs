using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Polly;

namespace Discovery.Http.Tests;

public sealed class ResilienceTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task Each_attempt_of_the_standard_resilience_handler_picks_afresh_and_avoids_failed_endpoints()
    {
        var backends = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Backend.StartAsync($"pod-{i}")));
        foreach (var failing in backends.Take(3))
        {
            failing.Behavior = context =>
            {
                context.Response.StatusCode = 503;
                return Task.CompletedTask;
            };
        }

        var outer = new UriRecorder();
        await using var services = TestServices.Create(s => s.AddHttpClient("resilient")
            .AddKubernetesDiscovery(o => o.PassiveHealth.Enabled = false)
            .AddStandardResilienceHandler(o =>
            {
                o.Retry.MaxRetryAttempts = 3;
                o.Retry.Delay = TimeSpan.Zero;
                o.Retry.BackoffType = DelayBackoffType.Constant;
                o.Retry.UseJitter = false;
            })
            .Services.AddHttpClient("resilient").AddHttpMessageHandler(() => outer));
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);

        using var response = await services.Client("resilient").GetAsync("http://alpaca-prod/api?x=1", TestContext.Current.CancellationToken);

        // Four attempts at most, no endpoint twice: the last attempt must reach the one healthy pod.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pod-3", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.All(backends, b => Assert.InRange(b.Requests, 0, 1));
        Assert.All(outer.Before, uri => Assert.Equal(new Uri("http://alpaca-prod/api?x=1"), uri));
        Assert.All(outer.After, uri => Assert.Equal(new Uri("http://alpaca-prod/api?x=1"), uri));
        Assert.Equal(backends.Sum(b => b.Requests), outer.Before.Count);
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Outer_retries_after_connect_failures_do_not_return_to_a_dead_endpoint()
    {
        await using var live = await Backend.StartAsync("pod-live");
        var deadEndpoints = Enumerable.Range(0, 3).Select(_ => Ports.Refusing()).Select(d => FakeEndpointResolver.Endpoint(d.Address, d.Port)).ToArray();
        await using var services = TestServices.Create(s => s.AddHttpClient("resilient")
            .AddKubernetesDiscovery(o =>
            {
                o.PassiveHealth.Enabled = false;
                o.MaxConnectFailureRetries = 0;
            })
            .AddStandardResilienceHandler(o =>
            {
                o.Retry.MaxRetryAttempts = 3;
                o.Retry.Delay = TimeSpan.Zero;
                o.Retry.BackoffType = DelayBackoffType.Constant;
                o.Retry.UseJitter = false;
            }));
        services.Resolver.Publish(Alpaca, [.. deadEndpoints, FakeEndpointResolver.Endpoint(live)]);

        using var response = await services.Client("resilient").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, live.Requests);
    }

    private sealed class UriRecorder : DelegatingHandler
    {
        public ConcurrentQueue<Uri?> Before { get; } = new();

        public ConcurrentQueue<Uri?> After { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Before.Enqueue(request.RequestUri);
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                After.Enqueue(request.RequestUri);
            }
        }
    }
}
