using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

public sealed class LoadTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task A_pod_killed_under_concurrent_load_loses_no_idempotent_request()
    {
        var backends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Backend.StartAsync($"pod-{i}")));
        await using var services = TestServices.Create(s => s.AddHttpClient("load").AddKubernetesDiscovery(o => o.MaxRetriesAfterSend = 2));

        // The snapshot still lists the killed pod: the watch has not caught up, which is the worst case for the client.
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);
        var client = services.Client("load");
        const int total = 400;
        var completed = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task WorkerAsync()
        {
            while (true)
            {
                var n = Interlocked.Increment(ref completed);
                if (n > total)
                {
                    return;
                }

                if (n == total / 4)
                {
                    halfway.TrySetResult();
                }

                try
                {
                    using var response = await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
                    response.EnsureSuccessStatusCode();
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            }
        }

        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(WorkerAsync, TestContext.Current.CancellationToken)).ToArray();
        await halfway.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await backends[1].DisposeAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Empty(failures);
        // A request cut off by the kill may have reached the dying pod before it was sent again elsewhere.
        Assert.InRange(backends[0].Requests + backends[1].Requests + backends[2].Requests, total, total + 8);
        await backends[0].DisposeAsync();
        await backends[2].DisposeAsync();
    }

    [Fact]
    public async Task Outcome_feedback_steers_power_of_two_choices_away_from_a_slow_backend()
    {
        var backends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Backend.StartAsync($"pod-{i}")));
        var slow = backends[0];
        slow.Behavior = async context =>
        {
            // Simulated service time of a slow pod (not synchronisation).
            await Task.Delay(TimeSpan.FromMilliseconds(500), context.RequestAborted);
            await context.Response.WriteAsync("slow");
        };
        await using var services = TestServices.Create();
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);
        var client = services.Client();

        var remaining = 150;
        async Task WorkerAsync()
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(WorkerAsync, TestContext.Current.CancellationToken)));

        // Even spreading would send it 50; being slow, it gets a small fraction of that.
        Assert.InRange(slow.Requests, 1, 20);
        Assert.Equal(150, backends.Sum(b => b.Requests));
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }
}
