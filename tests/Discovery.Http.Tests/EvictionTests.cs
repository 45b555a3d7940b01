using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.Http.Tests;

public sealed class EvictionTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);

    private static TestServices Create(FakeTimeProvider time, HttpMessageHandler primary)
    {
        var services = TestServices.Create(
            s =>
            {
                s.Configure<KubernetesDiscoveryOptions>(o => o.IdleTimeout = IdleTimeout);
                s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => primary);
            },
            timeProvider: time);
        services.Resolver.Publish(FakeEndpointResolver.Key("alpaca"), FakeEndpointResolver.Endpoint("10.0.0.1", 8080, "pod-a"));
        services.Resolver.Publish(FakeEndpointResolver.Key("beta"), FakeEndpointResolver.Endpoint("10.0.0.2", 8080, "pod-b"));
        return services;
    }

    private static async Task GetAsync(HttpClient client, string uri)
    {
        using var response = await client.GetAsync(uri, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // The sweep runs every minute here (a quarter of the idle time, capped at a minute): step the clock so that each one runs.
    private static void AdvanceMinutes(FakeTimeProvider time, int minutes)
    {
        for (var i = 0; i < minutes; i++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
        }
    }

    [Fact]
    public async Task Balancers_and_hosts_unused_for_the_idle_timeout_are_dropped_and_come_back_on_use()
    {
        var time = new FakeTimeProvider();
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var services = Create(time, recorder);
        var client = services.Client("x");
        var discovery = services.Get<DiscoveryClientRegistry>().Get("x");

        await GetAsync(client, "http://alpaca/");
        await GetAsync(client, "http://beta/");
        await GetAsync(client, "http://beta.default/");
        Assert.Equal(2, discovery.BalancerCount);
        Assert.Equal(3, discovery.CachedHostCount);

        // alpaca stays in use; beta (under both of its names) does not.
        AdvanceMinutes(time, 6);
        await GetAsync(client, "http://alpaca/");
        AdvanceMinutes(time, 6);
        Assert.Equal(1, discovery.BalancerCount);
        Assert.Equal(1, discovery.CachedHostCount);

        // Used again, beta gets a fresh balancer; alpaca goes too once unused for the idle time.
        await GetAsync(client, "http://beta/");
        Assert.Equal(2, discovery.BalancerCount);
        AdvanceMinutes(time, 12);
        Assert.Equal(0, discovery.BalancerCount);
        Assert.Equal(0, discovery.CachedHostCount);
        await GetAsync(client, "http://alpaca/");
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1", "10.0.0.2", "10.0.0.1"], recorder.Seen.Select(s => s.Uri!.Host));
    }

    [Fact]
    public async Task A_balancer_with_a_request_waiting_for_its_response_is_kept()
    {
        var time = new FakeTimeProvider();
        var primary = new PendingHandler();
        await using var services = Create(time, primary);
        var client = services.Client("x");
        var discovery = services.Get<DiscoveryClientRegistry>().Get("x");

        var pending = client.GetAsync("http://alpaca/", TestContext.Current.CancellationToken);
        AdvanceMinutes(time, 15);
        Assert.Equal(1, discovery.BalancerCount);

        primary.Complete();
        (await pending).Dispose();
        AdvanceMinutes(time, 12);
        Assert.Equal(0, discovery.BalancerCount);
    }

    [Fact]
    public void The_sweep_timer_does_not_keep_a_standalone_handler_alive_and_stops_once_it_is_collected()
    {
        var time = new TimerTrackingTimeProvider();
        var client = CreateAndDropHandler(time);
        var sweep = Assert.Single(time.Timers);
        for (var i = 0; i < 5 && client.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(client.IsAlive);
        Assert.False(sweep.IsDisposed);

        // The orphaned timer stops itself at its next tick (a sweep runs at least once a minute).
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(sweep.IsDisposed, "the sweep timer of a collected handler still runs");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference CreateAndDropHandler(FakeTimeProvider time)
    {
        var handler = new DiscoveryHttpHandler(new FakeEndpointResolver(), new ServiceHostParser("default"), timeProvider: time);
        return new WeakReference(handler.Client);
    }

    /// <summary>A fake clock that records the timers created on it and whether each has been disposed.</summary>
    private sealed class TimerTrackingTimeProvider : FakeTimeProvider
    {
        private readonly List<TrackedTimer> _timers = [];

        public IReadOnlyList<TrackedTimer> Timers
        {
            get
            {
                lock (_timers)
                {
                    return [.. _timers];
                }
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new TrackedTimer(base.CreateTimer(callback, state, dueTime, period));
            lock (_timers)
            {
                _timers.Add(timer);
            }

            return timer;
        }
    }

    private sealed class TrackedTimer(ITimer inner) : ITimer
    {
        private volatile bool _disposed;

        public bool IsDisposed => _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            _disposed = true;
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return inner.DisposeAsync();
        }
    }

    private sealed class PendingHandler : HttpMessageHandler
    {
        private readonly TaskCompletionSource<HttpResponseMessage> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Complete() => _response.TrySetResult(new HttpResponseMessage(HttpStatusCode.OK));

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => _response.Task;
    }
}
