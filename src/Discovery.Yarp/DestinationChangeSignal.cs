using Microsoft.Extensions.Primitives;

namespace Discovery.Yarp;

/// <summary>
/// Turns snapshot changes of the Services that YARP destinations name into YARP reloads, at most one per
/// <see cref="KubernetesDestinationResolverOptions.MinimumReloadInterval"/>. Every resolution between two reloads gets the same
/// change token (a generation); a change fires the generation and starts the next one.
/// </summary>
/// <remarks>
/// Off the request path; one lock (<see cref="_gate"/>) guards every field. Token callbacks run outside it. The resolver
/// registers on a Service's snapshot token at most once per snapshot, so callbacks do not pile up on a Service that never
/// changes while others reload YARP over and over; a registration ends when its snapshot fires, which it always does once
/// superseded or stopped.
/// </remarks>
internal sealed class DestinationChangeSignal : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<ServiceKey, ServiceEndpointSnapshot> _watched = [];
    private readonly TimeProvider _time;
    private readonly TimeSpan _minimumInterval;
    private readonly Action<int> _onSignal;
    private readonly Action<Action> _dispatch;
    private CancellationTokenSource _generation = new();
    private IChangeToken _token;
    private long _lastSignal;
    private bool _signalledBefore;
    private ITimer? _pending;
    private int _changedServices;

    /// <param name="time">The clock of the interval.</param>
    /// <param name="minimumInterval">The shortest time between two signals.</param>
    /// <param name="onSignal">Told how many Service changes each signal carries (for the log).</param>
    /// <param name="dispatch">
    /// Runs a signal raised by a snapshot change; the thread pool when null. A snapshot token fires on the watcher's task, and
    /// YARP's callback starts its whole reload synchronously: that must not hold up the watcher.
    /// </param>
    public DestinationChangeSignal(TimeProvider time, TimeSpan minimumInterval, Action<int> onSignal, Action<Action>? dispatch = null)
    {
        _time = time;
        _dispatch = dispatch ?? (static work => ThreadPool.UnsafeQueueUserWorkItem(static w => w(), work, preferLocal: false));
        _minimumInterval = minimumInterval < TimeSpan.Zero ? TimeSpan.Zero : minimumInterval;
        _onSignal = onSignal;
        _token = new CancellationChangeToken(_generation.Token);
    }

    /// <summary>The token of the current generation. Read it before reading snapshots, so that no change in between is lost.</summary>
    public IChangeToken Current
    {
        get
        {
            lock (_gate)
            {
                return _token;
            }
        }
    }

    /// <summary>Follows a Service's snapshot: when it is superseded (or its watcher stops), YARP is told to reload.</summary>
    public void Watch(ServiceEndpointSnapshot snapshot)
    {
        lock (_gate)
        {
            if (_watched.TryGetValue(snapshot.Service, out var watched) && ReferenceEquals(watched, snapshot))
            {
                return;
            }

            _watched[snapshot.Service] = snapshot;
        }

        // Outside the lock: a token that has already fired runs the callback at once, on this thread.
        snapshot.ChangeToken.RegisterChangeCallback(static state => ((DestinationChangeSignal.Registration)state!).Fire(), new Registration(this, snapshot));
    }

    /// <summary>Asks for a reload after <paramref name="delay"/> (a retry when the API could not be read), unless one comes sooner.</summary>
    public void SignalAfter(TimeSpan delay)
    {
        lock (_gate)
        {
            _changedServices++;
            Arm(delay);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _pending?.Dispose();
            _pending = null;
        }
    }

    /// <summary>A followed snapshot was superseded: reload now, or at the end of the interval if a reload just happened.</summary>
    internal void OnChanged(ServiceEndpointSnapshot snapshot)
    {
        CancellationTokenSource? fire = null;
        int changed;
        lock (_gate)
        {
            if (_watched.TryGetValue(snapshot.Service, out var watched) && ReferenceEquals(watched, snapshot))
            {
                _watched.Remove(snapshot.Service);
            }

            _changedServices++;
            if (_pending is not null)
            {
                // A reload is already scheduled: this change rides along.
                return;
            }

            var sinceLast = _signalledBefore ? _time.GetElapsedTime(_lastSignal) : TimeSpan.MaxValue;
            if (sinceLast < _minimumInterval)
            {
                Arm(_minimumInterval - sinceLast);
                return;
            }

            fire = NextGeneration(out changed);
        }

        _dispatch(() => Fire(fire, changed));
    }

    private void Arm(TimeSpan delay)
    {
        if (_pending is null)
        {
            _pending = _time.CreateTimer(static state => ((DestinationChangeSignal)state!).OnTimer(), this, delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        CancellationTokenSource fire;
        int changed;
        lock (_gate)
        {
            _pending?.Dispose();
            _pending = null;
            fire = NextGeneration(out changed);
        }

        Fire(fire, changed);
    }

    private CancellationTokenSource NextGeneration(out int changed)
    {
        var fired = _generation;
        _generation = new CancellationTokenSource();
        _token = new CancellationChangeToken(_generation.Token);
        _lastSignal = _time.GetTimestamp();
        _signalledBefore = true;
        changed = _changedServices;
        _changedServices = 0;
        return fired;
    }

    private void Fire(CancellationTokenSource fired, int changed)
    {
        _onSignal(changed);

        // YARP's callback only cancels its own source and reloads on a thread-pool thread; the source is not disposed
        // because a late RegisterChangeCallback on its token must still see it cancelled.
        fired.Cancel();
    }

    private sealed class Registration(DestinationChangeSignal owner, ServiceEndpointSnapshot snapshot)
    {
        public void Fire() => owner.OnChanged(snapshot);
    }
}
