namespace Discovery.Internal;

/// <summary>
/// The publishing side of one watcher: the current snapshot (swapped by reference, read lock-free by the request path),
/// the superseding of the one it replaces, change tokens and subscribers, and the first lookup's wait for the initial sync
/// (or for the fault that ends it). Knows nothing of sources: the watcher builds, this publishes.
/// </summary>
/// <remarks>
/// Threads: <see cref="PublishIfChanged"/> is called by the watcher under its build turn only (one at a time), so
/// <c>_version</c> and <c>_synced</c> have one writer. The snapshot slot is also written by <see cref="TryPublishFallback"/>
/// (a lookup, into an empty slot only: compare-and-swap) and read by every lookup without a lock. The fences in
/// <see cref="Publish"/> and <see cref="SupersedeOnStop"/> pair with each other (both here).
/// </remarks>
internal sealed class SnapshotPublisher(ServiceKey key, WatcherContext context, SubscriberList subscribers)
{
    // What a synced watcher keeps as its initial outcome: one completed wait shared by all (completed, it never changes).
    // A watcher's own wait (about 90 B with its task) is no use once the first snapshot has released it, and 10,000 synced
    // watchers should not each keep one.
    private static readonly TaskCompletionSource Synced = CreateCompleted();

    private ServiceEndpointSnapshot? _snapshot;
    private long _version;
    private volatile bool _synced;
    // Completed by the first snapshot (then replaced by Synced) or a fault; replaced when a lookup finds a refusal fixed
    // and retries (AccessRecheck).
    private volatile TaskCompletionSource _initialOutcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // A factory, not an instance: concurrent callers each get their own exception (a thrown instance's stack trace is mutated).
    private volatile Func<DiscoveryException>? _fault;
    private volatile bool _initialSyncTimedOut;

    /// <summary>The latest snapshot (possibly a fallback one), or <see langword="null"/> before the first.</summary>
    public ServiceEndpointSnapshot? Current => Volatile.Read(ref _snapshot);

    /// <summary>Whether a snapshot built from the API was published (fallbacks do not count).</summary>
    public bool IsSynced => _synced;

    /// <summary>The version the next build gets (read under the watcher's build turn).</summary>
    public long NextVersion => _version + 1;

    /// <summary>The fault a lookup reports while nothing is published (RBAC refusal, 401), or <see langword="null"/>.</summary>
    public Func<DiscoveryException>? Fault
    {
        get => _fault;
        set => _fault = value;
    }

    /// <summary>The wait of the first lookups: completed by the first snapshot or by a fault.</summary>
    public TaskCompletionSource InitialOutcome => _initialOutcome;

    /// <summary>
    /// Waits for the initial sync, bounded by <see cref="KubernetesDiscoveryOptions.InitialSyncTimeout"/> from
    /// <paramref name="startedAt"/>; after one timeout (or with a fault) later lookups do not wait again.
    /// </summary>
    public async ValueTask WaitForInitialSyncAsync(long startedAt, CancellationToken cancellationToken)
    {
        if (_fault is not null || _initialSyncTimedOut)
        {
            return;
        }

        var remaining = context.Options.InitialSyncTimeout - context.TimeProvider.GetElapsedTime(startedAt);
        try
        {
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException();
            }

            await _initialOutcome.Task.WaitAsync(remaining, context.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Later lookups fail fast instead of each waiting the whole timeout again while the API stays down.
            _initialSyncTimedOut = true;
        }
    }

    /// <summary>
    /// After RBAC was fixed: a new initial wait (the old one may have been released by the refusal), no fault, and lookups
    /// wait again. Returns the new wait.
    /// </summary>
    public TaskCompletionSource RearmInitialSync()
    {
        var outcome = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _initialOutcome = outcome;
        _fault = null;
        _initialSyncTimedOut = false;
        return outcome;
    }

    /// <summary>The wait for a retried sync timed out: later lookups fail fast.</summary>
    public void MarkInitialSyncTimedOut() => _initialSyncTimedOut = true;

    /// <summary>Publishes <paramref name="snapshot"/> unless its content equals the current one's. Under the watcher's build turn.</summary>
    public void PublishIfChanged(ServiceEndpointSnapshot snapshot)
    {
        if (Current is { } current && SnapshotContent.IsSame(current, snapshot))
        {
            // A re-list, a resumed watch or an irrelevant Service edit: the informer has already recorded the contact
            // (that is what staleness and age report); readers and subscribers keep the snapshot they have.
            DiscoveryLog.SnapshotUnchanged(context.Logger, key.Namespace, key.Name, current.Version, snapshot.ResourceVersion);
            return;
        }

        Publish(snapshot);
    }

    private void Publish(ServiceEndpointSnapshot snapshot)
    {
        _version = snapshot.Version;

        // The old snapshot is marked before the new one becomes visible: whoever can read the new one (the resolver, a
        // subscriber) already sees the old one superseded, so a caller holding the old one never uses it after that.
        var previous = Volatile.Read(ref _snapshot);
        previous?.MarkSuperseded();

        // A full fence (pairs with the one in SupersedeOnStop): a publish racing with the stop either is seen by it or sees
        // it. Only a fallback swapped into the empty slot meanwhile can come back here.
        var replaced = Interlocked.Exchange(ref _snapshot, snapshot);
        if (!ReferenceEquals(replaced, previous))
        {
            replaced?.MarkSuperseded();
        }

        if (subscribers.IsStopped)
        {
            Signal(snapshot);
        }

        // Change tokens fire only now that the new snapshot is visible: a consumer whose callback looks the Service up
        // again (MESD re-resolves, YARP re-reads its destinations) must get the new one, not the one that just fired.
        Signal(previous);
        if (!ReferenceEquals(replaced, previous))
        {
            Signal(replaced);
        }

        if (!_synced)
        {
            _synced = true;
            _fault = null;
            DiscoveryLog.InitialSync(context.Logger, key.Namespace, key.Name, snapshot.Source, snapshot.UsableEndpoints.Length, snapshot.Endpoints.Length);
            _initialOutcome.TrySetResult();
            _initialOutcome = Synced;
        }
        else
        {
            DiscoveryLog.SnapshotPublished(context.Logger, key.Namespace, key.Name, snapshot.Version, snapshot.UsableEndpoints.Length, snapshot.Endpoints.Length, snapshot.ResourceVersion);
        }

        Notify(snapshot);
    }

    /// <summary>
    /// Puts <paramref name="fallback"/> (environment variables, DNS) into the slot if it is still empty; returns what the slot
    /// holds then (real data that arrived meanwhile wins).
    /// </summary>
    public ServiceEndpointSnapshot TryPublishFallback(ServiceEndpointSnapshot fallback)
    {
        var existing = Interlocked.CompareExchange(ref _snapshot, fallback, null);
        if (existing is not null)
        {
            return existing;
        }

        if (subscribers.IsStopped)
        {
            Signal(fallback);
        }

        if (context.FallbackLog.ShouldLog(key, fallback.Source))
        {
            DiscoveryLog.UsingFallback(context.Logger, key.Namespace, key.Name, fallback.Source);
        }

        Notify(fallback);
        return fallback;
    }

    /// <summary>A stopped watcher publishes nothing more: whoever holds its last snapshot must look the Service up again.</summary>
    public void SupersedeOnStop()
    {
        // Pairs with the exchange in Publish (see there).
        Interlocked.MemoryBarrier();
        Signal(Volatile.Read(ref _snapshot));
    }

    private static TaskCompletionSource CreateCompleted()
    {
        var completed = new TaskCompletionSource();
        completed.SetResult();
        return completed;
    }

    /// <summary>Marks a snapshot superseded and fires its change token; a consumer's failing callback is logged, never thrown here.</summary>
    private void Signal(ServiceEndpointSnapshot? snapshot)
    {
        try
        {
            snapshot?.SignalSuperseded();
        }
        catch (AggregateException e)
        {
            DiscoveryLog.SubscriberFailed(context.Logger, e, key.Namespace, key.Name);
        }
    }

    private void Notify(ServiceEndpointSnapshot snapshot)
    {
        foreach (var subscriber in subscribers.Current)
        {
            try
            {
                subscriber(snapshot);
            }
            catch (Exception e)
            {
                DiscoveryLog.SubscriberFailed(context.Logger, e, key.Namespace, key.Name);
            }
        }
    }
}
