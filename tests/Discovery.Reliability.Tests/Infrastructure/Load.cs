using System.Collections.Concurrent;
using System.Diagnostics;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>Open-loop load at a fixed rate over a set of URIs, bounded in time and in requests in flight.</summary>
internal sealed class Load
{
    private readonly HttpClient _client;
    private readonly IReadOnlyList<(Uri Uri, ServiceKey Service)> _targets;
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private long _sent;
    private long _succeeded;
    private long _failed;
    private long _shed;
    private long _inFlight;
    private long _nextId;

    public Load(HttpClient client, IReadOnlyList<(Uri Uri, ServiceKey Service)> targets)
    {
        _client = client;
        _targets = targets;
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Requests not sent because too many were in flight (the machine could not keep up; not a failure).</summary>
    public long Shed => Interlocked.Read(ref _shed);

    public IReadOnlyDictionary<string, int> Errors => _errors;

    public string ErrorSummary => _errors.IsEmpty ? "none" : string.Join("; ", _errors.Select(e => $"{e.Value}× {e.Key}"));

    /// <summary>Sends <paramref name="perSecond"/> requests a second until <paramref name="stop"/> is cancelled or <paramref name="maxDuration"/> passes; then waits (bounded) for those in flight.</summary>
    public async Task RunAsync(double perSecond, TimeSpan maxDuration, CancellationToken stop, int maxInFlight = 400)
    {
        var inFlight = new ConcurrentDictionary<long, Task>();
        var started = Stopwatch.GetTimestamp();
        long issued = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!stop.IsCancellationRequested && Stopwatch.GetElapsedTime(started) < maxDuration)
        {
            try
            {
                await timer.WaitForNextTickAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * perSecond);
            while (issued < due)
            {
                issued++;
                if (Interlocked.Read(ref _inFlight) >= maxInFlight)
                {
                    Interlocked.Increment(ref _shed);
                    continue;
                }

                var id = Interlocked.Increment(ref _nextId);
                var target = _targets[(int)(id % _targets.Count)];
                inFlight[id] = SendOneAsync(id, target.Uri, target.Service).ContinueWith(_ => inFlight.TryRemove(id, out Task? _), TaskScheduler.Default);
            }
        }

        await Task.WhenAll(inFlight.Values).WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async Task SendOneAsync(long id, Uri uri, ServiceKey service)
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _sent);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Options.Set(AttemptRecorder.RequestId, id);
            request.Options.Set(AttemptRecorder.Service, service);
            using var response = await _client.SendAsync(request);
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _succeeded);
            }
            else
            {
                Fail($"HTTP {(int)response.StatusCode}");
            }
        }
        catch (Exception e)
        {
            Fail($"{e.GetType().Name}: {Trim(e.Message)}" + (e.InnerException is { } inner ? $" ← {inner.GetType().Name}: {Trim(inner.Message)}" : ""));
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static string Trim(string message) => message.Length > 160 ? message[..160] + "…" : message;

    private void Fail(string error)
    {
        Interlocked.Increment(ref _failed);
        _errors.AddOrUpdate(error, 1, (_, n) => n + 1);
    }
}

/// <summary>Managed memory and thread-pool health while a scenario runs.</summary>
internal sealed class RuntimeProbe : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _maxLatenessTicks;
    private long _maxQueue;
    private long _samples;

    public RuntimeProbe(TimeSpan? period = null)
    {
        var interval = period ?? TimeSpan.FromMilliseconds(100);
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            var last = Stopwatch.GetTimestamp();
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var now = Stopwatch.GetTimestamp();
                    var lateness = Stopwatch.GetElapsedTime(last, now) - interval;
                    last = now;
                    InterlockedMax(ref _maxLatenessTicks, Math.Max(0, lateness.Ticks));
                    InterlockedMax(ref _maxQueue, ThreadPool.PendingWorkItemCount);
                    Interlocked.Increment(ref _samples);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        });
    }

    /// <summary>The worst lateness of a 100 ms thread-pool timer tick: a starved pool shows as seconds.</summary>
    public TimeSpan MaxTimerLateness => TimeSpan.FromTicks(Interlocked.Read(ref _maxLatenessTicks));

    public long MaxThreadPoolQueue => Interlocked.Read(ref _maxQueue);

    public static long ManagedMemoryAfterFullGc()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
