namespace Discovery.Internal;

/// <summary>
/// Which endpoint source serves one watcher — its own per-Service informers or its namespace's shared watch — and the
/// move between the two, as one state machine. Shaped like a child-balancer switch: keep serving from the current source
/// until the pending one is ready.
/// </summary>
/// <remarks>
/// <para><b>Scope</b> — which source serves — is the state machine below (<c>_current</c>, <c>_pending</c>), changed only by
/// this type. A move keeps serving from the current source until the pending one is ready:</para>
/// <list type="number">
/// <item><see cref="TryBeginMove"/> (through the watcher, from the registry, when the namespace watch has synced): the namespace source becomes
/// <c>_pending</c>; the per-Service source stays <c>_current</c> and keeps running and serving.</item>
/// <item>Each build while moving builds from <c>_pending</c>. When that agrees with the published snapshot (or nothing is
/// published), <c>_pending</c> becomes <c>_current</c>; otherwise the current source's build is published and the
/// move waits for the next change (either source may be behind the other, and readers must never go back in time).</item>
/// <item>Once that build is published, the replaced per-Service source is stopped; a change it still delivers is
/// ignored (only <c>_current</c> and <c>_pending</c> are listened to).</item>
/// <item>Back (<see cref="ReturnToPerService"/>: the namespace's slices refused, or a selectorless Service the namespace
/// watch cannot serve): a pending move is dropped (the current source never stopped); a current namespace source is
/// replaced by a new per-Service source, which builds nothing until it has synced, so readers keep the last snapshot.</item>
/// </list>
/// <para>Locks: <c>_gate</c> guards <c>_current</c>, <c>_pending</c> and <c>_started</c>. Order: the registry's lock (the
/// registry calls in under it), then <c>_gate</c>, then a per-Service source's lock (read under it by
/// <see cref="TryBeginMove"/>). It is never held while building, publishing, starting a source or calling the registry.</para>
/// <para>A namespace source is the namespace watch's one shared instance (<see cref="NamespaceWatch.Source"/>): a watcher
/// tells its namespace sources apart by their watch, and never joins the same watch twice.</para>
/// </remarks>
internal sealed class SourceScope(ServiceWatcher watcher, CancellationToken stopping)
{
    // Everything else a scope needs (context, registry, pod selector, the published snapshot, whether the watcher stopped)
    // is the watcher's and read from it: 10,000 watchers should not each carry a second copy. The stop is kept as a token
    // because a per-Service source may be started (and linked to it) while the watcher is being disposed.
    private readonly object _gate = new();
    // The source serving now (null only before the start and between leaving a namespace watch and starting per Service).
    private IEndpointSource? _current;
    // The namespace source being moved to (step 1 to step 2), or null.
    private NamespaceSource? _pending;
    // Every per-Service source started, disposed with the watcher (created with the first: most watchers of a large
    // namespace never have one, and 10,000 of them should not carry an empty list each).
    private List<PerServiceSource>? _started;

    /// <summary>Every per-Service source started (to dispose with the watcher).</summary>
    public PerServiceSource[] Started
    {
        get
        {
            lock (_gate)
            {
                return _started is null ? [] : [.. _started];
            }
        }
    }

    /// <summary>The watcher stops: forgets the namespace source (current or pending) and returns it, to leave its watch.</summary>
    public NamespaceSource? DetachShared()
    {
        lock (_gate)
        {
            var shared = _pending ?? _current as NamespaceSource;
            _pending = null;
            if (_current is NamespaceSource)
            {
                _current = null;
            }

            return shared;
        }
    }

    /// <summary>
    /// Under the watcher's build turn: builds from the scope's source(s) and applies the scope's decisions (steps 2 and 4).
    /// Returns the snapshot to publish (if any) and a replaced per-Service source to stop once it is published (step 3).
    /// </summary>
    public async ValueTask<(ServiceEndpointSnapshot? Snapshot, PerServiceSource? Replaced)> BuildAsync(CancellationToken cancellationToken)
    {
        var (current, pending) = Scope();
        if (pending is null)
        {
            if (current is null)
            {
                return (null, null);
            }

            var build = await current.BuildAsync(watcher.CreateBuilder(), cancellationToken).ConfigureAwait(false);
            if (build.NotServed && current is NamespaceSource shared)
            {
                LeaveNamespace(shared);
                return (null, null);
            }

            if (!ReferenceEquals(Scope().Current, current))
            {
                // Sent back to per-Service watching during the build (the namespace's slices refused).
                return await BuildAsync(cancellationToken).ConfigureAwait(false);
            }

            return (build.Snapshot, null);
        }

        // Moving: build from the pending source; keep serving the current one's view until the two agree.
        var builder = watcher.CreateBuilder();
        var next = await pending.BuildAsync(builder, cancellationToken).ConfigureAwait(false);
        if (next.NotServed)
        {
            LeaveNamespace(pending);
            return (null, null);
        }

        if (next.Snapshot is not { } built)
        {
            return (null, null);
        }

        if (watcher.Current is not { } published || SnapshotContent.IsSame(published, built))
        {
            return TryPromote(pending, out var replaced) ? (built, replaced) : await BuildAsync(cancellationToken).ConfigureAwait(false);
        }

        var own = (await current!.BuildAsync(builder, cancellationToken).ConfigureAwait(false)).Snapshot;
        if (own is not null && SnapshotContent.IsSame(own, built) && TryPromote(pending, out var stopped))
        {
            return (own, stopped);
        }

        return (own, null);
    }

    /// <summary>Called by the registry, under its lock, when the watcher joins a namespace watch at its start.</summary>
    public void AttachShared(NamespaceWatch watch)
    {
        lock (_gate)
        {
            _current = watch.Source;
        }
    }

    /// <summary>
    /// Step 1. Called by the registry, under its lock, when the namespace watch of this per-Service watcher's namespace has
    /// synced (<see cref="WatchScope.Auto"/>): whether the watcher can be served by it, and if so makes it the pending
    /// source. Services it does not serve (pod selectors, selectorless Services, Endpoints as the source) stay per Service.
    /// </summary>
    public bool TryBeginMove(NamespaceWatch watch)
    {
        lock (_gate)
        {
            if (watcher.IsRetired || _pending is not null || _current is not PerServiceSource { CanMoveToNamespace: true }
                || watcher.Current?.ServiceInfo is { HasSelector: false, IsExternalName: false })
            {
                return false;
            }

            _pending = watch.Source;
            return true;
        }
    }

    /// <summary>Step 2 ends: the pending source agreed with what is published and becomes current; step 3 stops the replaced one.</summary>
    private bool TryPromote(NamespaceSource pending, out PerServiceSource? replaced)
    {
        lock (_gate)
        {
            replaced = null;
            if (!ReferenceEquals(_pending, pending))
            {
                // Sent back meanwhile: the per-Service source stays.
                return false;
            }

            replaced = _current as PerServiceSource;
            _current = pending;
            _pending = null;
            return true;
        }
    }

    /// <summary>
    /// Step 4. Leaves the namespace watch <paramref name="from"/> for per-Service watching (called by the registry when the
    /// namespace's slices are refused, and by <see cref="LeaveNamespace"/>).
    /// </summary>
    public void ReturnToPerService(NamespaceWatch from)
    {
        bool startOwn;
        lock (_gate)
        {
            if (watcher.IsRetired)
            {
                return;
            }

            if (_pending is { } pending && ReferenceEquals(pending.Watch, from))
            {
                _pending = null;
                startOwn = false;
            }
            else if (_current is NamespaceSource current && ReferenceEquals(current.Watch, from))
            {
                _current = null;
                startOwn = true;
            }
            else
            {
                return;
            }
        }

        DiscoveryLog.WatchingPerService(watcher.Context.Logger, watcher.Key.Namespace, watcher.Key.Name);
        if (startOwn)
        {
            StartPerService();
        }
    }

    /// <summary>The namespace watch cannot serve this Service (selectorless): leave it, and watch per Service.</summary>
    private void LeaveNamespace(NamespaceSource source)
    {
        watcher.Registry?.Leave(source.Watch, watcher);
        ReturnToPerService(source.Watch);
    }

    /// <summary>Starts a per-Service source as the current one (at the watcher's start, or step 4).</summary>
    public void StartPerService()
    {
        PerServiceSource source;
        lock (_gate)
        {
            if (watcher.IsRetired || _current is not null)
            {
                return;
            }

            source = new PerServiceSource(watcher, watcher.Context, watcher.PodSelector, stopping);
            _current = source;
            (_started ??= []).Add(source);
        }

        source.Start();
    }

    private (IEndpointSource? Current, NamespaceSource? Pending) Scope()
    {
        lock (_gate)
        {
            return (_current, _pending);
        }
    }

    /// <summary>Whether <paramref name="source"/> is current or pending (the watcher ignores what other sources report).</summary>
    public bool IsListenedTo(IEndpointSource source)
    {
        lock (_gate)
        {
            return ReferenceEquals(source, _current) || ReferenceEquals(source, _pending);
        }
    }

    /// <summary>The namespace source serving or pending, if any.</summary>
    public NamespaceSource? Shared()
    {
        lock (_gate)
        {
            return _pending ?? _current as NamespaceSource;
        }
    }

    /// <summary>The per-Service source serving (also while a move is pending), if any.</summary>
    public PerServiceSource? PerService()
    {
        lock (_gate)
        {
            return _current as PerServiceSource;
        }
    }
}
