namespace Discovery.Internal;

/// <summary>
/// RBAC refusals before a watcher's first sync: reports them at once, naming every missing rule (<see cref="AccessProbe"/>),
/// and lets a later lookup find the refusal fixed — then the watcher's informers retry at once and the lookup waits for the
/// first sync as a first lookup would.
/// </summary>
internal sealed class AccessRecheck(ServiceWatcher watcher, WatcherContext context, SnapshotPublisher publisher, string? podSelector)
{
    // Guards the four fields below.
    private readonly object _lock = new();
    private bool _faultIsForbidden;
    private long _checkedAt;
    private Task<ServiceEndpointSnapshot?>? _check;
    private bool _reportRunning;

    private ServiceKey Key => watcher.Key;

    /// <summary>Whether the fault lookups report is an RBAC refusal (then a lookup rechecks, see <see cref="RecheckAsync"/>).</summary>
    public bool FaultIsForbidden
    {
        get
        {
            lock (_lock)
            {
                return _faultIsForbidden;
            }
        }
    }

    /// <summary>
    /// A list or watch was refused before the first sync: sets the fault (naming EndpointSlices when the refusal of slices
    /// sent the watcher to Endpoints) and, one at a time, probes every rule to name the missing ones.
    /// </summary>
    public void OnForbidden(ResourceQuery query, KubernetesStatusException forbidden, SlicesRefusal? slicesRefusal)
    {
        var fromSlices = query.Resource == WatchedResource.Endpoints && slicesRefusal is { Forbidden: true };
        var (resource, group) = fromSlices ? ("endpointslices", "discovery.k8s.io") : (query.ResourceName, query.ApiGroup);
        var verb = (fromSlices ? slicesRefusal!.Verb : forbidden.Verb) ?? "list";
        var serverMessage = (fromSlices ? slicesRefusal!.ServerMessage : null) ?? forbidden.ServerMessage;
        var key = Key;
        if (publisher.Fault is null)
        {
            publisher.Fault = () => new KubernetesForbiddenException(key, verb, resource, group, serverMessage, forbidden);
        }

        lock (_lock)
        {
            _faultIsForbidden = true;
            if (_reportRunning)
            {
                return;
            }

            _reportRunning = true;
        }

        // One probe at a time: every retry of every informer lands here while RBAC refuses. The probe releases the lookups
        // waiting now, never those of a later retry (RunCheckAsync installs a new outcome after a fix, and a probe still
        // running from before it must not end that wait before the retry has synced).
        _ = ReportAsync(verb, resource, group, serverMessage, forbidden, publisher.InitialOutcome);
    }

    /// <summary>
    /// A lookup while RBAC refuses discovery: at most once a second, probes again. When nothing is missing any more (the
    /// rules were applied), the informers retry at once instead of waiting out their back-off, and the lookup waits for the
    /// first sync as a first lookup would; otherwise the fault is refreshed. Concurrent lookups share one check.
    /// </summary>
    public Task<ServiceEndpointSnapshot?> RecheckAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_check is { IsCompleted: false } running)
            {
                return running.WaitAsync(cancellationToken);
            }

            if (context.TimeProvider.GetElapsedTime(_checkedAt) < TimeSpan.FromSeconds(1))
            {
                return Task.FromResult<ServiceEndpointSnapshot?>(null);
            }

            // Started outside the lock: the probe's requests are sent on the thread pool.
            _check = Task.Run(RunCheckAsync, CancellationToken.None);
            return _check.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Probes every rule discovery of this Service needs, then reports the refusal with the missing ones and releases waiting lookups.</summary>
    private async Task ReportAsync(string verb, string resource, string group, string? serverMessage, Exception error, TaskCompletionSource waiting)
    {
        try
        {
            var missing = await AccessProbe.FindMissingAsync(context, Key, podSelector, watcher.IsKnownSelectorless, watcher.StoppingToken).ConfigureAwait(false);
            MarkChecked();
            // A probe that began before a retry (see RunCheckAsync) reports nothing: its answer may predate the fix.
            if (missing is { Count: > 0 } && !publisher.IsSynced && ReferenceEquals(waiting, publisher.InitialOutcome))
            {
                var key = Key;
                publisher.Fault = () => new KubernetesForbiddenException(key, verb, resource, group, missing, serverMessage, error);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping.
        }
        finally
        {
            lock (_lock)
            {
                _reportRunning = false;
            }

            waiting.TrySetResult();
        }
    }

    private async Task<ServiceEndpointSnapshot?> RunCheckAsync()
    {
        CancellationToken stopping;
        try
        {
            stopping = watcher.StoppingToken;
        }
        catch (ObjectDisposedException)
        {
            // Stopped meanwhile: the caller reports the fault it has.
            return null;
        }

        var missing = await AccessProbe.FindMissingAsync(context, Key, podSelector, watcher.IsKnownSelectorless, stopping).ConfigureAwait(false);
        MarkChecked();
        if (missing is null || publisher.IsSynced)
        {
            return publisher.Current;
        }

        if (missing.Count > 0)
        {
            var previous = publisher.Fault?.Invoke() as KubernetesForbiddenException;
            var (verb, resource, group) = previous is null ? ("list", missing[0].Resource, missing[0].ApiGroup) : (previous.Verb, previous.Resource, previous.ApiGroup);
            var key = Key;
            publisher.Fault = () => new KubernetesForbiddenException(key, verb, resource, group, missing, null, previous?.InnerException);
            return null;
        }

        // RBAC allows everything now: retry at once and wait for the first sync (bounded as a first lookup is).
        var outcome = publisher.RearmInitialSync();
        lock (_lock)
        {
            _faultIsForbidden = false;
        }

        watcher.RetryNow();
        try
        {
            await outcome.Task.WaitAsync(context.Options.InitialSyncTimeout, context.TimeProvider, stopping).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            publisher.MarkInitialSyncTimedOut();
        }
        catch (OperationCanceledException)
        {
            // Stopped meanwhile.
        }

        return publisher.Current;
    }

    private void MarkChecked()
    {
        var now = context.TimeProvider.GetTimestamp();
        lock (_lock)
        {
            _checkedAt = now;
        }
    }
}
