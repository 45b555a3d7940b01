using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Discovery.Internal;
using k8s;
using k8s.Models;

namespace Discovery.Tests.Infrastructure;

/// <summary>
/// An in-memory API server behind the engine's own API interface: a global resourceVersion, a history that watches
/// replay from, compaction (410), and scripted faults. Used until, and beside, the HTTP emulator.
/// </summary>
internal sealed class FakeKubernetesApi : IKubernetesResourceApi
{
    private readonly object _gate = new();
    private readonly Dictionary<(WatchedResource Resource, string Namespace, string Name), IKubernetesObject<V1ObjectMeta>> _objects = [];
    private readonly List<(long Version, WatchedResource Resource, WatchEventType Type, IKubernetesObject<V1ObjectMeta> Object)> _history = [];
    private readonly List<ActiveWatch> _watches = [];
    private long _resourceVersion = 100;
    private long _compactedThrough;

    public ConcurrentDictionary<WatchedResource, int> ListCalls { get; } = new();

    public ConcurrentDictionary<WatchedResource, int> WatchCalls { get; } = new();

    /// <summary>Every watch call in order: what it asked for and whether the caller has given it up.</summary>
    public ConcurrentQueue<WatchCall> WatchHistory { get; } = new();

    /// <summary>Returns an exception to throw for a list, or null to answer.</summary>
    public Func<ResourceQuery, Exception?>? ListFault { get; set; }

    /// <summary>Returns true for a list that the server accepts and never answers (it ends only when cancelled).</summary>
    public Func<ResourceQuery, bool>? ListHangs { get; set; }

    /// <summary>
    /// Returns a task to await before answering a list, or null to answer at once: a slow response, which carries the
    /// state of when the request arrived (as a real server's does), however much changes before it is delivered.
    /// </summary>
    public Func<ResourceQuery, Task?>? ListAnswerDelay { get; set; }

    /// <summary>Returns an exception to throw when a watch opens, or null to open it.</summary>
    public Func<ResourceQuery, Exception?>? WatchFault { get; set; }

    /// <summary>Objects a list returns beside the matching ones, whatever the query: a server or proxy that ignores selectors.</summary>
    public Func<ResourceQuery, IEnumerable<IKubernetesObject<V1ObjectMeta>>>? ListExtra { get; set; }

    /// <summary>When it returns items for a query, a list answers exactly those (nulls allowed) instead of the store's objects.</summary>
    public Func<ResourceQuery, IKubernetesObject<V1ObjectMeta>?[]?>? ListReplace { get; set; }

    public List<V1Node> Nodes { get; } = [];

    public Exception? NodesFault { get; set; }

    public int NodeListCalls;

    public int ActiveWatchCount
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    public static KubernetesStatusException Status(int code, string reason = "Failure") => new(code, reason, $"test {code}");

    public void Apply(IKubernetesObject<V1ObjectMeta> item)
    {
        lock (_gate)
        {
            var resource = ResourceOf(item);
            var key = (resource, item.Metadata.NamespaceProperty ?? "default", item.Metadata.Name);
            var type = _objects.ContainsKey(key) ? WatchEventType.Modified : WatchEventType.Added;
            item.Metadata.ResourceVersion = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
            _objects[key] = item;
            Record(resource, type, item);
        }
    }

    public void Delete(WatchedResource resource, string ns, string name)
    {
        lock (_gate)
        {
            if (_objects.Remove((resource, ns, name), out var item))
            {
                var copy = Clone(item);
                copy.Metadata.ResourceVersion = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
                Record(resource, WatchEventType.Deleted, copy);
            }
        }
    }

    /// <summary>Ends every open watch cleanly, as a server does at its timeout.</summary>
    public void EndWatches() => ForEachWatch(w => w.Channel.Writer.TryComplete());

    /// <summary>Ends every open watch with an ERROR 410 event.</summary>
    public void ExpireWatches() => ForEachWatch(w => w.Channel.Writer.TryWrite(Status(410, "Expired")));

    /// <summary>Breaks every open watch mid-stream (connection reset).</summary>
    public void BreakWatches() => ForEachWatch(w => w.Channel.Writer.TryWrite(new HttpRequestException("connection reset", new IOException("reset"))));

    /// <summary>Open watches stop receiving anything (a dead connection); new ones work.</summary>
    public void StallWatches() => ForEachWatch(w => w.Stalled = true);

    /// <summary>Sends an event to every open watch of <paramref name="resource"/>, ignoring namespace and selectors, without storing the object.</summary>
    public void Inject(WatchedResource resource, WatchEventType type, IKubernetesObject<V1ObjectMeta> item)
    {
        lock (_gate)
        {
            item.Metadata.ResourceVersion = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);
            foreach (var watch in _watches)
            {
                if (watch.Query.Resource == resource)
                {
                    watch.Channel.Writer.TryWrite(new ResourceEvent(type, item));
                }
            }
        }
    }

    public void InjectMalformedLine() => ForEachWatch(w => w.Channel.Writer.TryWrite(new JsonException("test: malformed line")));

    /// <summary>Forgets history: watches from any version seen so far get 410.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _compactedThrough = _resourceVersion;
            _history.Clear();
        }
    }

    /// <summary>Advances the global resourceVersion without a change to watched objects (leases and the like).</summary>
    public void Tick()
    {
        lock (_gate)
        {
            _resourceVersion++;
        }
    }

    public Task<ResourceListResult> ListAsync(ResourceQuery query, CancellationToken cancellationToken)
    {
        ListCalls.AddOrUpdate(query.Resource, 1, (_, n) => n + 1);
        if (ListFault?.Invoke(query) is { } fault)
        {
            return Task.FromException<ResourceListResult>(fault);
        }

        if (ListHangs?.Invoke(query) == true)
        {
            return Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith<ResourceListResult>(
                static t => throw new OperationCanceledException("the hung list was cancelled"), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        if (ListReplace?.Invoke(query) is { } replaced)
        {
            lock (_gate)
            {
                return Task.FromResult(new ResourceListResult([.. replaced.Select(i => i!)], _resourceVersion.ToString(CultureInfo.InvariantCulture)));
            }
        }

        lock (_gate)
        {
            var items = _objects.Where(o => o.Key.Resource == query.Resource && o.Key.Namespace == query.Namespace && Matches(query, o.Value))
                .OrderBy(o => o.Key.Name, StringComparer.Ordinal)
                .Select(o => o.Value)
                .Concat(ListExtra?.Invoke(query) ?? [])
                .ToArray();
            var result = new ResourceListResult(items, _resourceVersion.ToString(CultureInfo.InvariantCulture));
            return ListAnswerDelay?.Invoke(query) is { } delay
                ? delay.WaitAsync(cancellationToken).ContinueWith(_ => result, cancellationToken, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default)
                : Task.FromResult(result);
        }
    }

    public async IAsyncEnumerable<ResourceEvent> WatchAsync(ResourceQuery query, string resourceVersion, int timeoutSeconds, Action<Exception> onMalformedEvent, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        WatchCalls.AddOrUpdate(query.Resource, 1, (_, n) => n + 1);
        var call = new WatchCall(query.Resource, timeoutSeconds);
        WatchHistory.Enqueue(call);

        // Runs inside the cancellation itself: a deadline timer fired by FakeTimeProvider.Advance is seen here before
        // Advance returns, so a test can tell exactly at which fake instant the caller gave the watch up.
        using var cancelled = cancellationToken.Register(static state => ((WatchCall)state!).MarkCancelled(), call);
        await Task.Yield();
        if (WatchFault?.Invoke(query) is { } fault)
        {
            throw fault;
        }

        var watch = new ActiveWatch(query);
        lock (_gate)
        {
            var from = long.Parse(resourceVersion, CultureInfo.InvariantCulture);
            if (from < _compactedThrough)
            {
                watch.Channel.Writer.TryWrite(Status(410, "Expired"));
            }
            else
            {
                foreach (var entry in _history.Where(h => h.Version > from && h.Resource == query.Resource && h.Object.Metadata.NamespaceProperty == query.Namespace && Matches(query, h.Object)))
                {
                    watch.Channel.Writer.TryWrite(new ResourceEvent(entry.Type, entry.Object));
                }
            }

            _watches.Add(watch);
        }

        try
        {
            await foreach (var item in watch.Channel.Reader.ReadAllAsync(cancellationToken))
            {
                switch (item)
                {
                    case ResourceEvent e:
                        yield return e;
                        break;
                    case JsonException malformed:
                        onMalformedEvent(malformed);
                        break;
                    case Exception error:
                        throw error;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _watches.Remove(watch);
            }

            call.MarkEnded();
        }
    }

    /// <summary>Returns false for a (resource, namespace, verb) RBAC refuses; when null, a 403 from the list or watch faults refuses.</summary>
    public Func<WatchedResource, string, string, bool>? Allows { get; set; }

    public Task<bool?> IsAllowedAsync(WatchedResource resource, string @namespace, string name, string verb, CancellationToken cancellationToken)
    {
        if (Allows is { } allows)
        {
            return Task.FromResult<bool?>(allows(resource, @namespace, verb));
        }

        var query = new ResourceQuery(resource, @namespace, null, null);
        var fault = verb == "watch" ? WatchFault?.Invoke(query) : ListFault?.Invoke(query);
        return Task.FromResult<bool?>(fault is not KubernetesStatusException { IsForbidden: true });
    }

    public Task<IReadOnlyList<V1Node>> ListNodesAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref NodeListCalls);
        return NodesFault is { } fault ? Task.FromException<IReadOnlyList<V1Node>>(fault) : Task.FromResult<IReadOnlyList<V1Node>>([.. Nodes]);
    }

    public Task<V1Node> ReadNodeAsync(string name, CancellationToken cancellationToken)
    {
        var node = Nodes.FirstOrDefault(n => n.Metadata?.Name == name);
        return NodesFault is { } fault ? Task.FromException<V1Node>(fault)
            : node is null ? Task.FromException<V1Node>(new KubernetesStatusException(404, "NotFound", $"nodes \"{name}\" not found"))
            : Task.FromResult(node);
    }

    private void Record(WatchedResource resource, WatchEventType type, IKubernetesObject<V1ObjectMeta> item)
    {
        var version = long.Parse(item.Metadata.ResourceVersion, CultureInfo.InvariantCulture);
        _history.Add((version, resource, type, item));
        foreach (var watch in _watches)
        {
            if (!watch.Stalled && watch.Query.Resource == resource && watch.Query.Namespace == item.Metadata.NamespaceProperty && Matches(watch.Query, item))
            {
                watch.Channel.Writer.TryWrite(new ResourceEvent(type, item));
            }
        }
    }

    private void ForEachWatch(Action<ActiveWatch> action)
    {
        lock (_gate)
        {
            foreach (var watch in _watches)
            {
                action(watch);
            }
        }
    }

    private static bool Matches(ResourceQuery query, IKubernetesObject<V1ObjectMeta> item)
    {
        if (query.FieldSelector is { } field)
        {
            var name = field["metadata.name=".Length..];
            if (item.Metadata.Name != name)
            {
                return false;
            }
        }

        if (query.LabelSelector is { } labels)
        {
            foreach (var term in labels.Split(','))
            {
                var parts = term.Split('=');
                if (item.Metadata.Labels is null || !item.Metadata.Labels.TryGetValue(parts[0], out var value) || (parts.Length > 1 && value != parts[1]))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static WatchedResource ResourceOf(IKubernetesObject<V1ObjectMeta> item) => item switch
    {
        V1Service => WatchedResource.Services,
        V1EndpointSlice => WatchedResource.EndpointSlices,
        V1Endpoints => WatchedResource.Endpoints,
        V1Pod => WatchedResource.Pods,
        _ => throw new ArgumentException("unsupported kind", nameof(item)),
    };

    private static IKubernetesObject<V1ObjectMeta> Clone(IKubernetesObject<V1ObjectMeta> item) => item switch
    {
        V1Service s => KubernetesJson.Deserialize<V1Service>(KubernetesJson.Serialize(s)),
        V1EndpointSlice s => KubernetesJson.Deserialize<V1EndpointSlice>(KubernetesJson.Serialize(s)),
        V1Endpoints s => KubernetesJson.Deserialize<V1Endpoints>(KubernetesJson.Serialize(s)),
        V1Pod s => KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(s)),
        _ => throw new ArgumentException("unsupported kind", nameof(item)),
    };

    /// <summary>One watch call: the resource, the timeoutSeconds asked of the server, and whether it was cancelled or ended.</summary>
    public sealed class WatchCall(WatchedResource resource, int timeoutSeconds)
    {
        private volatile bool _cancelled;
        private volatile bool _ended;

        public WatchedResource Resource { get; } = resource;

        public int TimeoutSeconds { get; } = timeoutSeconds;

        /// <summary>The caller cancelled the watch's token (set synchronously by the cancellation).</summary>
        public bool Cancelled => _cancelled;

        /// <summary>The watch's enumeration finished, for whatever reason.</summary>
        public bool Ended => _ended;

        internal void MarkCancelled() => _cancelled = true;

        internal void MarkEnded() => _ended = true;
    }

    private sealed class ActiveWatch(ResourceQuery query)
    {
        public ResourceQuery Query { get; } = query;

        public Channel<object> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<object>();

        public volatile bool Stalled;
    }
}
