using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Http.Tests;

public sealed class RetryTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    private static TestServices Create(RecordingHandler recorder, Action<DiscoveryHttpClientOptions> configure)
        => TestServices.Create(s => s.AddHttpClient("r")
            .ConfigurePrimaryHttpMessageHandler(() => recorder)
            .AddKubernetesDiscovery(o =>
            {
                o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                o.PassiveHealth.Enabled = false;
                configure(o);
            }));

    private static ServiceEndpoint Dead()
    {
        var (address, port) = Ports.Refusing();
        return FakeEndpointResolver.Endpoint(address, port);
    }

    [Fact]
    public async Task Connect_failure_is_retried_once_on_another_endpoint()
    {
        await using var live = await Backend.StartAsync("pod-live");
        var recorder = new RecordingHandler();
        await using var services = Create(recorder, _ => { });
        var dead = Dead();
        services.Resolver.Publish(Alpaca, dead, FakeEndpointResolver.Endpoint(live));

        using var response = await services.Client("r").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);

        Assert.Equal("pod-live", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal([dead.Address, live.Address], recorder.Seen.Select(s => s.Uri!.Host));
        Assert.All(recorder.Seen, s => Assert.Equal("alpaca-prod", s.Host));
    }

    [Fact]
    public async Task Only_one_retry_by_default()
    {
        var recorder = new RecordingHandler();
        await using var services = Create(recorder, _ => { });
        services.Resolver.Publish(Alpaca, Dead(), Dead(), Dead());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => services.Client("r").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
        Assert.Equal(2, recorder.Seen.Count);
    }

    [Fact]
    public async Task Retries_never_reuse_an_endpoint()
    {
        var recorder = new RecordingHandler();
        await using var services = Create(recorder, o => o.MaxConnectFailureRetries = 10);
        services.Resolver.Publish(Alpaca, Dead(), Dead(), Dead());

        await Assert.ThrowsAsync<HttpRequestException>(() => services.Client("r").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));

        Assert.Equal(3, recorder.Seen.Count);
        Assert.Equal(3, recorder.Seen.Select(s => s.Uri!.Authority).Distinct().Count());
    }

    [Fact]
    public async Task Content_that_cannot_be_resent_is_not_retried()
    {
        await using var live = await Backend.StartAsync("pod-live");
        var recorder = new RecordingHandler();
        await using var services = Create(recorder, _ => { });
        services.Resolver.Publish(Alpaca, Dead(), FakeEndpointResolver.Endpoint(live));
        var client = services.Client("r");

        using var stream = new StreamContent(new MemoryStream([1, 2, 3]));
        await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync("http://alpaca-prod/", stream, TestContext.Current.CancellationToken));
        Assert.Single(recorder.Seen);

        // A buffered body can be sent again, even with a non-idempotent method: it never left.
        services.Resolver.Publish(Alpaca, Dead(), FakeEndpointResolver.Endpoint(live));
        using var response = await client.PostAsync("http://alpaca-prod/", new StringContent("{}"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Idempotent_requests_retry_after_send_failures_when_enabled_and_others_do_not()
    {
        await using var failing = await Backend.StartAsync("pod-503");
        await using var good = await Backend.StartAsync("pod-good");
        failing.Behavior = context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        };
        var recorder = new RecordingHandler();
        await using var services = Create(recorder, o => o.MaxRetriesAfterSend = 1);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(failing), FakeEndpointResolver.Endpoint(good));
        var client = services.Client("r");

        // A POST gets the failing endpoint's 503, not a second send.
        using var post = await client.PostAsync("http://alpaca-prod/", new StringContent("x"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.StatusCode);
        Assert.Equal(0, good.Requests);

        using var first = await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
        Assert.Equal(1, good.Requests);

        // The rotation is back at the failing endpoint: the GET is sent again, to the other one.
        using var second = await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, failing.Requests);
        Assert.Equal(2, good.Requests);
    }

    [Fact]
    public async Task After_send_failures_are_not_retried_by_default()
    {
        await using var failing = await Backend.StartAsync("pod-503");
        await using var good = await Backend.StartAsync("pod-good");
        failing.Behavior = context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        };
        var recorder = new RecordingHandler();
        await using var services = Create(recorder, _ => { });
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(failing), FakeEndpointResolver.Endpoint(good));

        using var response = await services.Client("r").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(recorder.Seen);
    }

    [Fact]
    public async Task An_attempt_timeout_counts_against_the_endpoint_and_an_idempotent_request_goes_elsewhere()
    {
        await using var hanging = await Backend.StartAsync("pod-hanging");
        await using var good = await Backend.StartAsync("pod-good");
        hanging.Behavior = context => Task.Delay(Timeout.Infinite, context.RequestAborted);
        var recorder = new RecordingHandler();

        // The attempt timeout runs on the fake clock: it fires when the test moves the clock, once the request is known to
        // hang, so a slow machine can neither fire it early (on the good pod) nor late.
        var time = new FakeTimeProvider();
        var attemptTimeout = TimeSpan.FromSeconds(5);
        await using var services = TestServices.Create(
            s => s.AddHttpClient("t")
                .ConfigurePrimaryHttpMessageHandler(() => recorder)
                .AddKubernetesDiscovery(o =>
                {
                    o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin;
                    o.AttemptTimeout = attemptTimeout;
                    o.MaxRetriesAfterSend = 1;
                    o.PassiveHealth.ConsecutiveFailures = 1;
                }),
            timeProvider: time);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(hanging), FakeEndpointResolver.Endpoint(good));
        var client = services.Client("t");

        var pending = client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => hanging.Requests == 1 || pending.IsCompleted, "the first attempt reaches the hanging pod");
        Assert.False(pending.IsCompleted, "the request ended before its attempt timed out");
        time.Advance(attemptTimeout);
        using var first = await pending.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal("pod-good", await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        // The timeout ejected the hanging endpoint: the next requests go straight to the good one.
        for (var i = 0; i < 4; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }

        Assert.Equal(1, hanging.Requests);
        Assert.Equal(5, good.Requests);
    }

    /// <summary>A bounded wait (real time, generous) for async work to make a condition true.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string because)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (!condition())
        {
            Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(60), $"Timed out waiting until {because}.");
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }
}
