using System.Diagnostics;

namespace Discovery.Demo.App;

/// <summary>
/// Records every endpoint snapshot the application's resolver publishes for one Service, through the public
/// subscription API, so the demo can show when the application learned about a change.
/// </summary>
public sealed class EndpointChangeObserver : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<(long At, ServiceEndpointSnapshot Snapshot)> _seen = [];
    private readonly List<Waiter> _waiters = [];
    private readonly IDisposable _subscription;

    /// <summary>Subscribes to <paramref name="service"/>.</summary>
    public EndpointChangeObserver(IServiceEndpointResolver resolver, ServiceKey service)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        _subscription = resolver.Subscribe(service, OnSnapshot);
    }

    /// <summary>
    /// Waits for the first snapshot published at or after <paramref name="since"/> that satisfies
    /// <paramref name="condition"/>, and returns when it was published.
    /// </summary>
    /// <returns>The <see cref="Stopwatch"/> timestamp of the snapshot, or <see langword="null"/> if none came within <paramref name="timeout"/>.</returns>
    public async Task<long?> WaitForAsync(Func<ServiceEndpointSnapshot, bool> condition, long since, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var waiter = new Waiter(condition, since);
        lock (_gate)
        {
            foreach (var (at, snapshot) in _seen)
            {
                if (at >= since && condition(snapshot))
                {
                    return at;
                }
            }

            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Published.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _subscription.Dispose();

    private void OnSnapshot(ServiceEndpointSnapshot snapshot)
    {
        var at = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _seen.Add((at, snapshot));
            foreach (var waiter in _waiters)
            {
                if (at >= waiter.Since && waiter.Condition(snapshot))
                {
                    waiter.Published.TrySetResult(at);
                }
            }
        }
    }

    private sealed record Waiter(Func<ServiceEndpointSnapshot, bool> Condition, long Since)
    {
        public TaskCompletionSource<long?> Published { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
