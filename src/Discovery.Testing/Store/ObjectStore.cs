using System.Globalization;

namespace Discovery.Testing.Store;

/// <summary>
/// The emulated etcd plus watch cache: objects per type, one global revision counter, and a
/// bounded log of recent events from which watches resume. Everything mutable is guarded by
/// one lock; stored objects and events are immutable, so readers work on snapshots outside it.
/// </summary>
internal sealed class ObjectStore
{
    private readonly object _gate = new();
    private readonly Dictionary<ResourceType, Dictionary<string, StoredObject>> _objects = [];
    private readonly Dictionary<ResourceType, StoredObject[]> _sorted = [];
    private readonly Dictionary<ResourceType, long> _lastEventRevision = [];
    private readonly Dictionary<ResourceType, List<WatchSubscription>> _subscriptions = [];
    private StoreEvent[] _log;
    private int _logStart;
    private int _logCount;
    private long _revision;
    private long _compactedRevision;
    private TaskCompletionSource _watchCountChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ObjectStore(int retainedEvents)
    {
        _log = new StoreEvent[Math.Max(1, retainedEvents)];
        foreach (var type in ResourceTypes.All)
        {
            _objects[type] = new Dictionary<string, StoredObject>(StringComparer.Ordinal);
            _subscriptions[type] = [];
        }
    }

    /// <summary>The latest revision handed out.</summary>
    public long CurrentRevision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    /// <summary>The oldest revision a watch or exact list may start from.</summary>
    public long CompactedRevision
    {
        get
        {
            lock (_gate)
            {
                return _compactedRevision;
            }
        }
    }

    public int OpenWatchCount
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Values.Sum(list => list.Count);
            }
        }
    }

    /// <summary>Changes how many events are retained; shrinking compacts the oldest.</summary>
    public void SetRetainedEvents(int retainedEvents)
    {
        lock (_gate)
        {
            var events = RetainedLocked().ToList();
            _log = new StoreEvent[Math.Max(1, retainedEvents)];
            _logStart = 0;
            _logCount = 0;
            foreach (var e in events)
            {
                AppendLocked(e);
            }
        }
    }

    /// <summary>Forgets every retained event: watches and exact lists from any earlier revision get 410.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _logStart = 0;
            _logCount = 0;
            System.Array.Clear(_log);
            _compactedRevision = _revision;
        }
    }

    /// <summary>Advances the revision without changing any object (the real one moves with leases and other kinds).</summary>
    public long BumpRevision()
    {
        lock (_gate)
        {
            return ++_revision;
        }
    }

    public StoredObject? Get(ResourceType type, string @namespace, string name)
    {
        lock (_gate)
        {
            return _objects[type].GetValueOrDefault(Key(type, @namespace, name));
        }
    }

    /// <summary>Current objects sorted by key, in one namespace or all, with the current revision.</summary>
    public ListSnapshot List(ResourceType type, string? @namespace)
    {
        lock (_gate)
        {
            if (!_sorted.TryGetValue(type, out var sorted))
            {
                sorted = [.. _objects[type].Values];
                System.Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
                _sorted[type] = sorted;
            }

            return new ListSnapshot(InNamespace(sorted, type, @namespace), _revision);
        }
    }

    /// <summary>
    /// Objects as they were at <paramref name="revision"/>, rebuilt by undoing retained events,
    /// or null when that revision is compacted away.
    /// </summary>
    public ListSnapshot? ListAt(ResourceType type, string? @namespace, long revision)
    {
        lock (_gate)
        {
            if (revision < _compactedRevision)
            {
                return null;
            }

            var state = new Dictionary<string, StoredObject>(_objects[type], StringComparer.Ordinal);
            foreach (var e in RetainedLocked().Reverse())
            {
                if (e.ResourceVersion <= revision)
                {
                    break;
                }

                var obj = e.Current ?? e.Previous!;
                if (obj.Type != type)
                {
                    continue;
                }

                if (e.Previous is null)
                {
                    state.Remove(obj.Key);
                }
                else
                {
                    state[obj.Key] = e.Previous;
                }
            }

            var sorted = state.Values.ToArray();
            System.Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            return new ListSnapshot(InNamespace(sorted, type, @namespace), Math.Min(revision, _revision));
        }
    }

    /// <summary>
    /// Reads the current object, lets <paramref name="decide"/> compute the new state for the next
    /// revision, and applies it atomically, emitting one event.
    /// </summary>
    public WriteResult Write(ResourceType type, string @namespace, string name, Func<StoredObject?, long, WriteDecision> decide)
    {
        lock (_gate)
        {
            var objects = _objects[type];
            var key = Key(type, @namespace, name);
            var existing = objects.GetValueOrDefault(key);
            var revision = _revision + 1;
            var decision = decide(existing, revision);
            switch (decision.Kind)
            {
                case WriteDecisionKind.Unchanged:
                    return new WriteResult(existing, existing, null);
                case WriteDecisionKind.Delete:
                    if (existing is null)
                    {
                        return new WriteResult(null, null, null);
                    }

                    _revision = revision;
                    objects.Remove(key);
                    _sorted.Remove(type);
                    var deleted = new StoreEvent(StoreEventType.Deleted, revision, existing.WithResourceVersion(revision), existing);
                    AppendLocked(deleted);
                    Publish(deleted);
                    return new WriteResult(null, existing, deleted);
                default:
                    _revision = revision;
                    var stored = StoredObject.FromCanonical(type, decision.Node!);
                    objects[key] = stored;
                    _sorted.Remove(type);
                    var change = new StoreEvent(existing is null ? StoreEventType.Added : StoreEventType.Modified, revision, stored, existing);
                    AppendLocked(change);
                    Publish(change);
                    return new WriteResult(stored, existing, change);
            }
        }
    }

    /// <summary>Registers a watch and collects what it must send first, atomically with respect to writes.</summary>
    public WatchStart OpenWatch(ResourceType type, string? @namespace, long? fromRevision)
    {
        lock (_gate)
        {
            List<StoreEvent> backlog = [];
            long start;
            if (fromRevision is null)
            {
                // Initial state: one ADDED per object, each with its own resourceVersion.
                foreach (var obj in _objects[type].Values)
                {
                    if (@namespace is null || obj.Namespace == @namespace)
                    {
                        backlog.Add(new StoreEvent(StoreEventType.Added, obj.ResourceVersion, obj, null));
                    }
                }

                start = _revision;
            }
            else
            {
                if (fromRevision.Value < _compactedRevision)
                {
                    return new WatchStart(null, [], fromRevision.Value, _compactedRevision);
                }

                foreach (var e in RetainedLocked())
                {
                    var obj = e.Current!;
                    if (e.ResourceVersion > fromRevision.Value && obj.Type == type && (@namespace is null || obj.Namespace == @namespace))
                    {
                        backlog.Add(e);
                    }
                }

                start = fromRevision.Value;
            }

            var subscription = new WatchSubscription(type, @namespace, start);
            subscription.AddBacklog(backlog.Count);
            _subscriptions[type].Add(subscription);
            SignalWatchCountLocked();
            return new WatchStart(subscription, backlog, null, _compactedRevision);
        }
    }

    public void CloseWatch(WatchSubscription subscription)
    {
        lock (_gate)
        {
            _subscriptions[subscription.Type].Remove(subscription);
            SignalWatchCountLocked();
        }
    }

    /// <summary>
    /// Queues a bookmark behind everything already queued, carrying the latest event revision of
    /// the type — but only when there is one newer than the watch's start (1.26 sends none otherwise).
    /// </summary>
    public void QueueBookmark(WatchSubscription subscription)
    {
        lock (_gate)
        {
            if (_lastEventRevision.TryGetValue(subscription.Type, out var last) && last > subscription.StartRevision)
            {
                subscription.Enqueue(new StoreEvent(StoreEventType.Bookmark, last, null, null));
            }
        }
    }

    /// <summary>Whether every open watch has written everything queued for it.</summary>
    public bool AllWatchesIdle
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Values.All(list => list.All(w => w.Pending == 0));
            }
        }
    }

    /// <summary>Events queued on open watches and not yet written.</summary>
    public int PendingWatchItems
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Values.Sum(list => list.Sum(w => w.Pending));
            }
        }
    }

    /// <summary>Snapshot of all open watches (for faults).</summary>
    public IReadOnlyList<WatchSubscription> OpenWatches()
    {
        lock (_gate)
        {
            return [.. _subscriptions.Values.SelectMany(list => list)];
        }
    }

    /// <summary>Completes the next time a watch opens or closes.</summary>
    public Task WatchCountChanged(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _watchCountChanged.Task.WaitAsync(cancellationToken);
        }
    }

    private void SignalWatchCountLocked()
    {
        var changed = _watchCountChanged;
        _watchCountChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private static string Key(ResourceType type, string @namespace, string name) => type.Namespaced ? @namespace + "/" + name : name;

    private static StoredObject[] InNamespace(StoredObject[] sorted, ResourceType type, string? @namespace)
    {
        if (@namespace is null || !type.Namespaced)
        {
            return sorted;
        }

        // Keys sort by "namespace/", so one namespace is a contiguous run.
        var prefix = @namespace + "/";
        var first = LowerBound(sorted, prefix);
        var last = first;
        while (last < sorted.Length && sorted[last].Key.StartsWith(prefix, StringComparison.Ordinal))
        {
            last++;
        }

        return sorted[first..last];
    }

    private static int LowerBound(StoredObject[] sorted, string key)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (string.CompareOrdinal(sorted[mid].Key, key) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private IEnumerable<StoreEvent> RetainedLocked()
    {
        for (var i = 0; i < _logCount; i++)
        {
            yield return _log[(_logStart + i) % _log.Length];
        }
    }

    private void AppendLocked(StoreEvent e)
    {
        if (_logCount == _log.Length)
        {
            // The oldest event falls out of the window: a watch from before it can no longer resume.
            _compactedRevision = Math.Max(_compactedRevision, _log[_logStart].ResourceVersion);
            _logStart = (_logStart + 1) % _log.Length;
            _logCount--;
        }

        _log[(_logStart + _logCount) % _log.Length] = e;
        _logCount++;
        var type = (e.Current ?? e.Previous)!.Type;
        _lastEventRevision[type] = e.ResourceVersion;
    }

    private void Publish(StoreEvent e)
    {
        var obj = e.Current!;
        foreach (var subscription in _subscriptions[obj.Type])
        {
            if (subscription.Matches(obj))
            {
                subscription.Enqueue(e);
            }
        }
    }

    /// <summary>Formats a revision as the API does.</summary>
    public static string Format(long revision) => revision.ToString(CultureInfo.InvariantCulture);
}
