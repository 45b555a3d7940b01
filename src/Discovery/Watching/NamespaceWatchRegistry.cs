using System.Collections.Immutable;

namespace Discovery.Internal;

/// <summary>
/// The namespace watches of one resolver: joined by Service watchers, stopped when their last member leaves; in
/// <see cref="WatchScope.Auto"/> it counts each namespace's per-Service watchers and starts the namespace watch past the
/// threshold. Lock order: this registry's lock, then a watch's or a watcher's (never the other way: neither calls in here
/// while holding its own).
/// </summary>
internal sealed class NamespaceWatchRegistry(WatcherContext context) : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, NamespaceWatch> _watches = new(StringComparer.Ordinal);
    // Namespaces whose EndpointSlices are not served or not permitted: their Services are watched per Service.
    private readonly HashSet<string> _perService = new(StringComparer.Ordinal);
    // WatchScope.Auto: the per-Service watchers of each namespace, counted against the threshold while the namespace has
    // no namespace watch, and moved onto it once it has synced.
    private readonly Dictionary<string, HashSet<ServiceWatcher>> _waiting = new(StringComparer.Ordinal);
    private readonly bool _auto = context.Options.WatchScope == WatchScope.Auto;
    private readonly int _threshold = context.Options.NamespaceWatchThreshold;
    private readonly List<Task> _stopping = [];
    private bool _disposed;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _watches.Count;
            }
        }
    }

    /// <summary>
    /// Adds <paramref name="watcher"/> to its namespace's watch (starting it), or returns null when the namespace is watched
    /// per Service. With <see cref="WatchScope.Auto"/>, a namespace gets its watch only when a watcher would be one more
    /// than the threshold; until then each is counted and watched per Service.
    /// </summary>
    public NamespaceWatch? Join(ServiceWatcher watcher)
    {
        lock (_lock)
        {
            var ns = watcher.Key.Namespace;
            if (_disposed || _perService.Contains(ns))
            {
                return null;
            }

            var started = false;
            if (!_watches.TryGetValue(ns, out var watch))
            {
                if (_auto)
                {
                    if (!_waiting.TryGetValue(ns, out var waiting))
                    {
                        _waiting[ns] = waiting = [];
                    }

                    if (waiting.Count < _threshold)
                    {
                        waiting.Add(watcher);
                        return null;
                    }

                    DiscoveryLog.NamespaceWatchStarting(context.Logger, ns, _threshold);
                }

                watch = new NamespaceWatch(ns, context, this);
                _watches[ns] = watch;
                started = true;
            }

            watcher.AttachShared(watch);
            watch.AddMember(watcher);
            if (started)
            {
                watch.Start();
            }

            return watch;
        }
    }

    /// <summary>Removes <paramref name="watcher"/>; the namespace watch stops when it was the last member.</summary>
    public void Leave(NamespaceWatch watch, ServiceWatcher watcher)
    {
        lock (_lock)
        {
            if (watch.RemoveMember(watcher) && _watches.TryGetValue(watch.Namespace, out var current) && ReferenceEquals(current, watch))
            {
                _watches.Remove(watch.Namespace);
                AddStopping_NeedsLock(watch.StopAsync());
            }
        }
    }

    /// <summary>A per-Service watcher stopped: it no longer counts towards its namespace's threshold.</summary>
    public void Forget(ServiceWatcher watcher)
    {
        lock (_lock)
        {
            if (_waiting.TryGetValue(watcher.Key.Namespace, out var waiting) && waiting.Remove(watcher) && waiting.Count == 0)
            {
                _waiting.Remove(watcher.Key.Namespace);
            }
        }
    }

    /// <summary>
    /// <paramref name="watch"/> has synced: the per-Service watchers of its namespace that it can serve move onto it (each
    /// keeps its published snapshot until it has built from the namespace watch, then stops its own watches).
    /// </summary>
    public async ValueTask MoveWaitingAsync(NamespaceWatch watch, CancellationToken cancellationToken)
    {
        var moved = new List<ServiceWatcher>();
        lock (_lock)
        {
            if (_disposed || !_watches.TryGetValue(watch.Namespace, out var current) || !ReferenceEquals(current, watch)
                || !_waiting.Remove(watch.Namespace, out var waiting))
            {
                return;
            }

            foreach (var watcher in waiting)
            {
                if (watcher.TryBeginMove(watch))
                {
                    watch.AddMember(watcher);
                    moved.Add(watcher);
                }
            }
        }

        foreach (var watcher in moved)
        {
            await watcher.CompleteMoveAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The namespace's slices cannot be watched: every member goes back to per-Service watching, and so do later ones.</summary>
    public void Degrade(NamespaceWatch watch)
    {
        ImmutableDictionary<string, ServiceWatcher> members;
        lock (_lock)
        {
            _perService.Add(watch.Namespace);
            _waiting.Remove(watch.Namespace);
            if (_watches.TryGetValue(watch.Namespace, out var current) && ReferenceEquals(current, watch))
            {
                _watches.Remove(watch.Namespace);
            }

            members = watch.TakeMembers();
            // Not awaited here: this runs on the informer's own task, which the stop waits for.
            AddStopping_NeedsLock(Task.Run(watch.StopAsync));
        }

        foreach (var member in members.Values)
        {
            member.ReturnToPerService(watch);
        }
    }

    /// <summary>Under the lock: remembers a stop for disposal to wait for, forgetting those already done (a failed one stays, to be observed there).</summary>
    private void AddStopping_NeedsLock(Task stop)
    {
        _stopping.RemoveAll(static t => t.IsCompletedSuccessfully);
        _stopping.Add(stop);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] tasks;
        lock (_lock)
        {
            _disposed = true;
            tasks = [.. _stopping, .. _watches.Values.Select(w => w.StopAsync())];
            _watches.Clear();
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
