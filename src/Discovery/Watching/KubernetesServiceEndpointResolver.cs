using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Discovery.Internal;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery;

/// <summary>
/// The <see cref="IServiceEndpointResolver"/> backed by the Kubernetes API: one watcher per Service, started on first use,
/// shared by every caller, stopped after <see cref="KubernetesDiscoveryOptions.IdleTimeout"/> without use. With
/// <see cref="WatchScope.Namespace"/> the watchers of one namespace build their snapshots from one shared Service watch and
/// one shared EndpointSlice watch, which stop when the namespace's last watcher does.
/// </summary>
public sealed class KubernetesServiceEndpointResolver : IServiceEndpointResolver, IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<ServiceKey, ServiceWatcher> _watchers = new();
    private readonly WatcherContext _context;
    private readonly DiscoveryMetrics _metrics;
    private readonly ITimer _idleSweep;
    private readonly HashSet<string> _allowedNamespaces;
    private readonly IDisposable? _ownedClient;
    private readonly NamespaceWatchRegistry? _namespaceWatches;
    private readonly ServiceVisibilityCache _visibility;
    // Kept in step with _watchers (ConcurrentDictionary.Count takes every bucket lock): slots are reserved before a
    // watcher is added, so concurrent first lookups cannot overshoot the cap.
    private int _watcherCount;
    private long _lastCapacitySweep;
    private int _disposed;

    /// <summary>Creates a resolver over a Kubernetes client.</summary>
    /// <param name="client">The client; the caller keeps ownership.</param>
    /// <param name="options">The discovery options (validated by the caller).</param>
    /// <param name="timeProvider">The clock for back-off, deadlines, idle eviction and staleness; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Where logs go; none when null.</param>
    /// <param name="meterFactory">Creates the <c>Discovery</c> meter; a private meter when null.</param>
    public KubernetesServiceEndpointResolver(
        IKubernetes client,
        KubernetesDiscoveryOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
        : this(() => new KubernetesClientResourceApi(client), options, timeProvider, loggerFactory, meterFactory, KubernetesClientConfiguration.IsInCluster(), null)
    {
        ArgumentNullException.ThrowIfNull(client);
    }

    internal KubernetesServiceEndpointResolver(
        Func<IKubernetesResourceApi> apiFactory,
        KubernetesDiscoveryOptions options,
        TimeProvider? timeProvider,
        ILoggerFactory? loggerFactory,
        IMeterFactory? meterFactory,
        bool isInCluster,
        IDisposable? ownedClient,
        Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(apiFactory);
        ArgumentNullException.ThrowIfNull(options);
        var clock = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Discovery");
        DefaultNamespace = ServiceHostParser.ResolveDefaultNamespace(options);
        _metrics = new DiscoveryMetrics(meterFactory, () => _watchers.Values);
        _context = new WatcherContext(options, apiFactory, clock, logger, _metrics, isInCluster, DefaultNamespace, random);
        _allowedNamespaces = new HashSet<string>(options.AllowedNamespaces.Select(n => n.Trim().ToLowerInvariant()), StringComparer.Ordinal);
        _ownedClient = ownedClient;
        _visibility = new ServiceVisibilityCache(_context);
        _namespaceWatches = options.WatchScope is WatchScope.Namespace or WatchScope.Auto ? new NamespaceWatchRegistry(_context) : null;
        var period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        _lastCapacitySweep = clock.GetTimestamp() - _context.TouchGranularity;
        _idleSweep = clock.CreateTimer(static state => ((KubernetesServiceEndpointResolver)state!).EvictIdleWatchers(), this, period, period);
    }

    /// <summary>The namespace of single-label Service names (configured, else the pod's own, else <c>default</c>).</summary>
    public string DefaultNamespace { get; }

    /// <inheritdoc/>
    public bool TryGetSnapshot(ServiceKey service, [NotNullWhen(true)] out ServiceEndpointSnapshot? snapshot)
    {
        if (_watchers.TryGetValue(service, out var watcher))
        {
            watcher.Touch();
            snapshot = watcher.Current;
            return snapshot is not null;
        }

        snapshot = null;
        return false;
    }

    /// <inheritdoc/>
    public ValueTask<ServiceEndpointSnapshot> GetSnapshotAsync(ServiceKey service, CancellationToken cancellationToken = default)
    {
        if (_watchers.TryGetValue(service, out var existing) && existing.Current is { } current)
        {
            existing.Touch();
            return new ValueTask<ServiceEndpointSnapshot>(current);
        }

        return GetOrStartWatcher(service, pinned: false).GetSnapshotAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<ServiceEndpointSnapshot?> GetSnapshotIfVisibleAsync(ServiceKey service, CancellationToken cancellationToken = default)
    {
        if (_watchers.TryGetValue(service, out var existing) && existing.Current is { } current)
        {
            // Watched already (another form of the name, a subscriber): that watcher knows.
            existing.Touch();
            return new ValueTask<ServiceEndpointSnapshot?>(current.ServiceExists ? current : null);
        }

        if (_visibility.IsKnownNotVisible(service))
        {
            return new ValueTask<ServiceEndpointSnapshot?>((ServiceEndpointSnapshot?)null);
        }

        return ProbeAndGetSnapshotAsync(service, cancellationToken);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ServiceEndpointSnapshot> WatchAsync(ServiceKey service, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Capacity one, dropping the oldest: a slow reader skips to the latest snapshot instead of queueing stale ones.
        var channel = Channel.CreateBounded<ServiceEndpointSnapshot>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        using var subscription = Subscribe(service, snapshot => channel.Writer.TryWrite(snapshot));
        var last = await GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false);
        yield return last;
        while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (channel.Reader.TryRead(out var next))
            {
                if (next.Version > last.Version || (last.Source is EndpointSourceKind.EnvironmentVariables or EndpointSourceKind.Dns && next.Source != last.Source))
                {
                    last = next;
                    yield return next;
                }
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>The callback runs on the watcher's own task, before the next change is processed: keep it short and non-blocking.</remarks>
    public IDisposable Subscribe(ServiceKey service, Action<ServiceEndpointSnapshot> onChange)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        while (true)
        {
            // A watcher started here takes the subscriber before it starts, so that its first snapshot is not missed.
            var watcher = GetOrStartWatcher(service, pinned: false, onChange, out var subscribed);
            if (subscribed || watcher.TryAddSubscriber(onChange))
            {
                return new Subscription(watcher, onChange);
            }

            // The watcher was retired between lookup and subscription: the next lookup starts a fresh one.
            TryRemoveWatcher(watcher);
        }
    }

    /// <summary>Starts the watchers of <paramref name="services"/> without waiting, and keeps them running while the resolver lives.</summary>
    /// <param name="services">The Services to watch.</param>
    public void Prewarm(IEnumerable<ServiceKey> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (var service in services)
        {
            GetOrStartWatcher(service, pinned: true).IsPinned = true;
        }
    }

    /// <summary>Returns the state of every running watcher (synced, stale, age), for health checks and diagnostics.</summary>
    public IReadOnlyList<ServiceWatcherStatus> GetWatcherStatuses()
        => [.. _watchers.Values.Select(w => w.GetStatus()).OrderBy(s => s.Service.ToString(), StringComparer.Ordinal)];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _idleSweep.DisposeAsync().ConfigureAwait(false);
        foreach (var watcher in _watchers.Values)
        {
            await watcher.DisposeAsync().ConfigureAwait(false);
        }

        _watchers.Clear();
        if (_namespaceWatches is not null)
        {
            await _namespaceWatches.DisposeAsync().ConfigureAwait(false);
        }

        _metrics.Dispose();
        _ownedClient?.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal IEnumerable<ServiceWatcher> Watchers => _watchers.Values;

    /// <summary>How many namespace watches run (<see cref="WatchScope.Namespace"/>), for tests.</summary>
    internal int NamespaceWatchCount => _namespaceWatches?.Count ?? 0;

    private ServiceWatcher GetOrStartWatcher(ServiceKey service, bool pinned) => GetOrStartWatcher(service, pinned, null, out _);

    /// <summary>
    /// <see cref="GetSnapshotIfVisibleAsync"/> for a host not known yet: one list request decides, and only a visible Service
    /// gets a watcher. When the API cannot answer, the ordinary lookup (watcher, retries, initial sync timeout) decides.
    /// </summary>
    private async ValueTask<ServiceEndpointSnapshot?> ProbeAndGetSnapshotAsync(ServiceKey service, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Validate(service);

        // A PodSelectors name is no Service: its watcher (of pods) answers.
        if (!_watchers.ContainsKey(service) && FindPodSelector(service) is null)
        {
            var visibility = await _visibility.ProbeAsync(service, cancellationToken).ConfigureAwait(false);
            if (visibility is ServiceVisibility.NotFound or ServiceVisibility.Forbidden)
            {
                return null;
            }
        }

        // A visible Service whose endpoints cannot be read still reports why (KubernetesForbiddenException): it is one.
        var snapshot = await GetOrStartWatcher(service, pinned: false).GetSnapshotAsync(cancellationToken).ConfigureAwait(false);
        return snapshot.ServiceExists ? snapshot : null;
    }

    /// <summary>Returns the Service's running watcher, starting one if needed; a new one gets <paramref name="subscriber"/> before it starts.</summary>
    private ServiceWatcher GetOrStartWatcher(ServiceKey service, bool pinned, Action<ServiceEndpointSnapshot>? subscriber, out bool subscribed)
    {
        subscribed = false;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Validate(service);
        while (true)
        {
            if (_watchers.TryGetValue(service, out var existing))
            {
                if (existing.IsRetired)
                {
                    // Lost a race with idle eviction: replace the stopped watcher.
                    TryRemoveWatcher(existing);
                    continue;
                }

                existing.Touch();
                return existing;
            }

            if (!TryReserveSlot())
            {
                throw new WatcherLimitExceededException(service, _context.Options.MaxWatchers);
            }

            var created = new ServiceWatcher(service, _context, FindPodSelector(service), pinned, _namespaceWatches);
            if (_watchers.TryAdd(service, created))
            {
                subscribed = subscriber is not null && created.TryAddSubscriber(subscriber);
                created.Start();
                return created;
            }

            // Another caller started this Service's watcher first: use theirs, and give the slot back.
            Interlocked.Decrement(ref _watcherCount);
        }
    }

    private bool TryReserveSlot()
    {
        var max = _context.Options.MaxWatchers;
        while (true)
        {
            var count = Volatile.Read(ref _watcherCount);
            if (count < max)
            {
                if (Interlocked.CompareExchange(ref _watcherCount, count + 1, count) == count)
                {
                    return true;
                }

                continue;
            }

            if (!TryEvictForCapacity())
            {
                return false;
            }
        }
    }

    /// <summary>At the cap, stops the idle watchers the periodic sweep has not reached yet; whether any slot was freed.</summary>
    private bool TryEvictForCapacity()
    {
        // A sweep walks every watcher. Hosts that keep arriving at the cap (user input) would otherwise each pay for one:
        // at most one sweep per touch granularity, which is also the resolution of idleness itself.
        var now = _context.TimeProvider.GetTimestamp();
        var last = Volatile.Read(ref _lastCapacitySweep);
        if (now - last < _context.TouchGranularity || Interlocked.CompareExchange(ref _lastCapacitySweep, now, last) != last)
        {
            return false;
        }

        if (EvictIdleWatchers() > 0)
        {
            return true;
        }

        DiscoveryLog.WatcherLimitReached(_context.Logger, _context.Options.MaxWatchers);
        return false;
    }

    private bool TryRemoveWatcher(ServiceWatcher watcher)
    {
        if (_watchers.TryRemove(new KeyValuePair<ServiceKey, ServiceWatcher>(watcher.Key, watcher)))
        {
            Interlocked.Decrement(ref _watcherCount);
            return true;
        }

        return false;
    }

    private void Validate(ServiceKey service)
    {
        // Enforced before any API call: a user-controlled URL must not reach into other namespaces.
        if (_allowedNamespaces.Count > 0 && (service.Namespace is null || !_allowedNamespaces.Contains(service.Namespace)))
        {
            throw new NamespaceNotAllowedException(service, _allowedNamespaces);
        }

        if (service.Namespace is null || !ServiceHostParser.IsDns1123Label(service.Namespace))
        {
            throw new InvalidServiceNameException(service.ToString(), "the namespace is not a valid DNS-1123 label", service);
        }

        if (service.Name is null || !ServiceHostParser.IsDns1035Label(service.Name))
        {
            throw new InvalidServiceNameException(service.ToString(), "the Service name is not a valid DNS-1035 label", service);
        }
    }

    private string? FindPodSelector(ServiceKey service)
    {
        var selectors = _context.Options.PodSelectors;
        if (selectors.Count == 0)
        {
            return null;
        }

        if (selectors.TryGetValue(service.Name + "." + service.Namespace, out var qualified))
        {
            return qualified;
        }

        return string.Equals(service.Namespace, DefaultNamespace, StringComparison.Ordinal) && selectors.TryGetValue(service.Name, out var selector)
            ? selector
            : null;
    }

    private int EvictIdleWatchers()
    {
        var idleTimeout = _context.Options.IdleTimeout;
        var evicted = 0;
        foreach (var watcher in _watchers.Values)
        {
            if (watcher.TryRetire(idleTimeout))
            {
                DiscoveryLog.IdleEviction(_context.Logger, watcher.Key.Namespace, watcher.Key.Name, watcher.IdleFor);
                if (TryRemoveWatcher(watcher))
                {
                    evicted++;
                }

                _ = watcher.DisposeAsync().AsTask();
            }
        }

        return evicted;
    }

    private sealed class Subscription(ServiceWatcher watcher, Action<ServiceEndpointSnapshot> onChange) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                watcher.RemoveSubscriber(onChange);
            }
        }
    }
}
