namespace Discovery.Testing.Http;

/// <summary>A bounded record of received requests, with waiters for tests that await a particular request.</summary>
internal sealed class RequestLog
{
    private readonly object _gate = new();
    private readonly Queue<EmulatorRequest> _requests = new();
    private readonly List<(Func<EmulatorRequest, bool> Predicate, TaskCompletionSource<EmulatorRequest> Completion)> _waiters = [];
    private readonly int _limit;
    private long _total;

    public RequestLog(int limit) => _limit = Math.Max(1, limit);

    public long Total
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    public void Add(EmulatorRequest request)
    {
        List<TaskCompletionSource<EmulatorRequest>>? completed = null;
        lock (_gate)
        {
            _total++;
            _requests.Enqueue(request);
            while (_requests.Count > _limit)
            {
                _requests.Dequeue();
            }

            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Predicate(request))
                {
                    (completed ??= []).Add(_waiters[i].Completion);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (completed is not null)
        {
            foreach (var completion in completed)
            {
                completion.TrySetResult(request);
            }
        }
    }

    public IReadOnlyList<EmulatorRequest> Snapshot()
    {
        lock (_gate)
        {
            return [.. _requests];
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _requests.Clear();
        }
    }

    /// <summary>Completes with the first request (already recorded or future) that matches.</summary>
    public async Task<EmulatorRequest> WaitForAsync(Func<EmulatorRequest, bool> predicate, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        TaskCompletionSource<EmulatorRequest> completion;
        lock (_gate)
        {
            foreach (var request in _requests)
            {
                if (predicate(request))
                {
                    return request;
                }
            }

            completion = new TaskCompletionSource<EmulatorRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((predicate, completion));
        }

        try
        {
            return await completion.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Completion == completion);
            }
        }
    }
}
