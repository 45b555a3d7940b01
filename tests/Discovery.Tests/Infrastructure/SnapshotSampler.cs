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

    public SnapshotSampler(IServiceEndpointResolver resolver, ServiceKey service, params string[][] allowedSets)
    {
        var allowed = allowedSets.Select(set => string.Join(",", set.Order(StringComparer.Ordinal))).ToHashSet(StringComparer.Ordinal);
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
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

                // Pacing only (the machine is shared): about a thousand reads a second still catch any window of a few ms.
                await Task.Delay(1);
            }
        });
    }

    public long Samples => Interlocked.Read(ref _samples);

    public async Task AssertNoViolationsAsync()
    {
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
