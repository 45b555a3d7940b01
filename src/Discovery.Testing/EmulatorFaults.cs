using Discovery.Testing.Store;

namespace Discovery.Testing;

/// <summary>
/// Fault injection: outages, dropped, stalled and corrupted watch streams, slow responses and
/// errors on demand. Every fault is observable from a stock client.
/// </summary>
public sealed class EmulatorFaults
{
    private readonly object _gate = new();
    private readonly ObjectStore _store;
    private readonly Func<OutageMode, Task> _startOutage;
    private readonly Func<Task> _endOutage;
    private TaskCompletionSource _resumed = NewResumed();
    private bool _stalled;
    private int _pendingWatch410;
    private readonly Queue<int> _pendingListFailures = new();
    private long _responseDelayTicks;
    private OutageMode? _outage;

    internal EmulatorFaults(ObjectStore store, Func<OutageMode, Task> startOutage, Func<Task> endOutage)
    {
        _store = store;
        _startOutage = startOutage;
        _endOutage = endOutage;
        _resumed.SetResult();
    }

    /// <summary>Delay applied before every response (including the headers of a watch). Zero by default.</summary>
    public TimeSpan ResponseDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _responseDelayTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _responseDelayTicks, value.Ticks);
        }
    }

    /// <summary>The outage in progress, if any.</summary>
    public OutageMode? CurrentOutage
    {
        get
        {
            lock (_gate)
            {
                return _outage;
            }
        }
    }

    /// <summary>Whether watches are stalled.</summary>
    public bool WatchesStalled
    {
        get
        {
            lock (_gate)
            {
                return _stalled;
            }
        }
    }

    /// <summary>Starts an outage; returns once it is in effect (for <see cref="OutageMode.RefuseConnections"/>: the port is closed).</summary>
    public void StartOutage(OutageMode mode) => StartOutageAsync(mode).GetAwaiter().GetResult();

    /// <summary>Starts an outage; completes once it is in effect.</summary>
    public async Task StartOutageAsync(OutageMode mode)
    {
        lock (_gate)
        {
            if (_outage is not null)
            {
                throw new InvalidOperationException($"An outage ({_outage}) is already in progress.");
            }

            _outage = mode;
        }

        DropWatches();
        await _startOutage(mode).ConfigureAwait(false);
    }

    /// <summary>Ends the outage; returns once the emulator serves again on the same port.</summary>
    public void EndOutage() => EndOutageAsync().GetAwaiter().GetResult();

    /// <summary>Ends the outage; completes once the emulator serves again on the same port.</summary>
    public async Task EndOutageAsync()
    {
        OutageMode? mode;
        lock (_gate)
        {
            mode = _outage;
        }

        if (mode is null)
        {
            return;
        }

        await _endOutage().ConfigureAwait(false);
        lock (_gate)
        {
            _outage = null;
        }
    }

    /// <summary>Cuts every open watch connection (the client sees the connection end abruptly).</summary>
    public void DropWatches()
    {
        foreach (var watch in _store.OpenWatches())
        {
            try
            {
                watch.Dropped.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The watch ended meanwhile.
            }
        }
    }

    /// <summary>Keeps watch connections open but sends nothing on them until <see cref="ResumeWatches"/>.</summary>
    public void StallWatches()
    {
        lock (_gate)
        {
            if (!_stalled)
            {
                _stalled = true;
                _resumed = NewResumed();
            }
        }
    }

    /// <summary>Lets stalled watches send what queued up meanwhile.</summary>
    public void ResumeWatches()
    {
        TaskCompletionSource resumed;
        lock (_gate)
        {
            _stalled = false;
            resumed = _resumed;
        }

        resumed.TrySetResult();
    }

    /// <summary>Makes the next line on every open watch a line of invalid JSON.</summary>
    public void InjectMalformedLine()
    {
        foreach (var watch in _store.OpenWatches())
        {
            watch.Enqueue(new StoreEvent(StoreEventType.Malformed, 0, null, null));
        }
    }

    /// <summary>Answers the next watch request with HTTP 200 and one ERROR event (410 Expired), then ends it.</summary>
    public void FailNextWatchWith410()
    {
        lock (_gate)
        {
            _pendingWatch410++;
        }
    }

    /// <summary>Answers the next list (or get) request with <paramref name="statusCode"/> and a Status body.</summary>
    public void FailNextListWith(int statusCode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        lock (_gate)
        {
            _pendingListFailures.Enqueue(statusCode);
        }
    }

    /// <summary>Forgets all retained events: watches or exact lists from any earlier resourceVersion get 410.</summary>
    public void CompactNow() => _store.Compact();

    internal bool TakeWatch410()
    {
        lock (_gate)
        {
            if (_pendingWatch410 == 0)
            {
                return false;
            }

            _pendingWatch410--;
            return true;
        }
    }

    internal int? TakeListFailure()
    {
        lock (_gate)
        {
            return _pendingListFailures.Count > 0 ? _pendingListFailures.Dequeue() : null;
        }
    }

    /// <summary>Completes when watches may send; immediately unless stalled.</summary>
    internal Task WhenResumed()
    {
        lock (_gate)
        {
            return _resumed.Task;
        }
    }

    private static TaskCompletionSource NewResumed() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
