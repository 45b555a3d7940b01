using System.Diagnostics;

namespace Discovery.Demo.App;

/// <summary>
/// Steady traffic to one Service: a few concurrent callers, each sending a request, noting which pod answered, and
/// pausing briefly so the demo leaves CPU for the servers on a small machine.
/// </summary>
public sealed class TrafficGenerator : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;

    private TrafficGenerator(Func<PodNameClient> clientFactory, Uri target, int concurrency, TimeSpan pause)
    {
        Target = target;
        _workers = [.. Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => RunWorkerAsync(clientFactory(), pause)))];
    }

    /// <summary>The URI every request is sent to.</summary>
    public Uri Target { get; }

    /// <summary>Every request sent so far.</summary>
    public RequestLog Log { get; } = new();

    /// <summary>Starts sending.</summary>
    /// <param name="clientFactory">Creates the typed client each caller uses (from the application's DI container).</param>
    /// <param name="target">The URI, for example <c>http://alpaca-prod/</c>.</param>
    /// <param name="concurrency">The number of concurrent callers.</param>
    /// <param name="pause">The pause after each request.</param>
    public static TrafficGenerator Start(Func<PodNameClient> clientFactory, Uri target, int concurrency, TimeSpan pause)
    {
        ArgumentNullException.ThrowIfNull(clientFactory);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        return new TrafficGenerator(clientFactory, target, concurrency, pause);
    }

    /// <summary>Stops sending and waits for the requests in flight.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        await Task.WhenAll(_workers);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task RunWorkerAsync(PodNameClient client, TimeSpan pause)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var startedAt = Stopwatch.GetTimestamp();
            string? pod = null;
            string? error = null;
            try
            {
                pod = await client.GetPodNameAsync(Target, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Stopping: a request cut short by the demo is not a failure of discovery.
                return;
            }
            catch (Exception ex)
            {
                error = ex.GetType().Name + ": " + ex.Message;
            }

            Log.Add(new RequestRecord(Target, startedAt, Stopwatch.GetTimestamp(), pod, error));
            try
            {
                await Task.Delay(pause, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
