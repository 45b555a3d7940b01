namespace Discovery.Tests.Infrastructure;

/// <summary>
/// Reads a Service's snapshot in a tight loop on another thread, as request threads do, and records every usable set
/// that is not one of the allowed ones: an empty or half-built set published during a fault shows up here.
/// </summary>
internal sealed class SnapshotSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _violations = [];
    private long _samples;
    private long _loopRounds;

    public SnapshotSampler(IServiceEndpointResolver resolver, ServiceKey service, params string[][] allowedSets)
    {
        var allowed = allowedSets.Select(set => string.Join(",", set.Order(StringComparer.Ordinal))).ToHashSet(StringComparer.Ordinal);
        void Sample()
        {
            if (resolver.TryGetSnapshot(service, out var snapshot))
            {
                Interlocked.Increment(ref _samples);
                var set = string.Join(",", snapshot.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal));
                if (!allowed.Contains(set))
                {
                    lock (_violations)
                    {
                        _violations.Add($"v{snapshot.Version}: [{set}]");
                    }
                }
            }
        }

        // One read now, on the caller's thread: on a loaded machine the loop below may first run only after the fault.
        Sample();
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Sample();
                Interlocked.Increment(ref _loopRounds);

                // Pacing only (the machine is shared): about a thousand reads a second still catch any window of a few ms.
                await Task.Delay(1);
            }
        });
    }

    public long Samples => Interlocked.Read(ref _samples);

    public async Task AssertNoViolationsAsync()
    {
        // The reader thread must have run at least once (bounded, real time), or it checked nothing of the fault.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (Interlocked.Read(ref _loopRounds) == 0 && System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(5);
        }

        await DisposeAsync();
        Assert.True(Samples > 0, "the sampler never saw a snapshot");
        lock (_violations)
        {
            Assert.True(_violations.Count == 0, "readers saw sets outside the allowed ones: " + string.Join("; ", _violations.Distinct().Take(10)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _loop;
        }
    }
}
