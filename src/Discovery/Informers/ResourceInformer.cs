using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Discovery.Internal;

/// <summary>
/// Keeps an in-memory copy of the objects one <see cref="ResourceQuery"/> matches: list, then watch from the list's
/// resourceVersion, resume after clean ends, re-list on 410, back off on failures.
/// </summary>
internal sealed class ResourceInformer
{
    // A watch that keeps failing from the same resourceVersion (a server that answers 500 for a compacted version, say)
    // is re-listed rather than retried forever.
    private const int FailuresBeforeRelist = 3;

    private readonly IResourceInformerOwner _owner;
    private readonly WatcherContext _context;
    private readonly ServiceKey _service;
    private readonly ResiliencePipeline _pipeline;
    private readonly InformerIntake _intake;
    // The one lock: guards the restart request (_round, _restartRequested, _switchRequested) and what owners read from
    // other threads (_store, _resourceVersion, _hasSynced, _query). The informer's own task is the only writer of the
    // latter and reads its own writes without it; every other field is used by that task alone.
    private readonly object _lock = new();
    // Swapped as a whole (a list) or replaced by a one-object successor (an event).
    private InformerStore _store;
    private string? _resourceVersion;
    private bool _hasSynced;
    private ResourceQuery _query = null!;
    private bool _needsList = true;
    private int _failuresSinceProgress;
    // Whether the current attempt's watch delivered anything, and the failure that ended such a watch (see AttemptAsync).
    private bool _watchProgressed;
    private Exception? _failureAfterProgress;
    // Restart: cancels the current run of the pipeline (its back-off delay, or the watch), optionally to watch another query.
    private CancellationTokenSource? _round;
    private bool _restartRequested;
    private ResourceQuery? _switchRequested;
    private int _malformedStreak;
    // A bad list (MalformedListException) was logged: its retries are not logged again until a good list arrives.
    private bool _badListLogged;
    private int _prematureEnds;
    private string _queryText = string.Empty;

    public ResourceInformer(ResourceQuery query, ServiceKey service, WatcherContext context, IResourceInformerOwner owner)
    {
        _intake = new InformerIntake(service, context);
        Query = query;
        _store = InformerStore.Empty(query.Resource);
        _service = service;
        _context = context;
        _owner = owner;
        var options = context.Options;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = context.TimeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Randomizer = context.Random,
                Delay = options.ReconnectBaseDelay,
                MaxDelay = options.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    OnRetry(args.Outcome.Exception, args.AttemptNumber + 1, args.RetryDelay);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>The query being watched; changes once if the owner falls back (EndpointSlices → Endpoints).</summary>
    public ResourceQuery Query
    {
        get
        {
            lock (_lock)
            {
                return _query;
            }
        }

        private set
        {
            lock (_lock)
            {
                _query = value;
            }

            _queryText = value.ToString();
            _intake.Query = value;
        }
    }

    /// <summary>
    /// The objects currently matching, keyed by name, with typed accessors (<see cref="InformerStore"/>). Immutable: each
    /// change publishes a new store with one reference write.
    /// </summary>
    public InformerStore Store
    {
        get
        {
            lock (_lock)
            {
                return _store;
            }
        }
    }

    /// <summary>The latest resourceVersion seen (list, event or bookmark).</summary>
    public string? ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>Whether the first list has completed.</summary>
    public bool HasSynced
    {
        get
        {
            lock (_lock)
            {
                return _hasSynced;
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            lock (_lock)
            {
                _round = round;
                _restartRequested = false;
                if (_switchRequested is { } next)
                {
                    _switchRequested = null;
                    SwitchTo(next);
                    _needsList = true;
                    _failureAfterProgress = null;
                }
            }

            try
            {
                await _pipeline.ExecuteAsync(
                    static async (self, token) => await self.AttemptAsync(token).ConfigureAwait(false),
                    this,
                    round.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (round.IsCancellationRequested)
            {
                // Restart: try again at once (a fresh back-off sequence).
            }
            finally
            {
                lock (_lock)
                {
                    _round = null;
                }
            }
        }
    }

    /// <summary>
    /// Abandons the current attempt or back-off delay and lists and watches again at once; with <paramref name="switchTo"/>,
    /// watches that query from now on (its list swaps in as a whole, so the owner builds nothing from it until then). Safe
    /// from any thread: the loop applies it between runs.
    /// </summary>
    public void Restart(ResourceQuery? switchTo = null)
    {
        CancellationTokenSource? round;
        lock (_lock)
        {
            if (switchTo is not null)
            {
                _switchRequested = switchTo;
            }

            if (_restartRequested)
            {
                return;
            }

            _restartRequested = true;
            round = _round;
        }

        try
        {
            round?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run just ended; the next one applies the request.
        }
    }

    /// <summary>
    /// One attempt of the retry pipeline. The pipeline's delays grow with its attempt number; a watch that delivered events
    /// before failing has shown the API healthy again, so its failure must not continue the earlier sequence (after a day of
    /// occasional drops every reconnect would wait the maximum). Such a failure ends the pipeline's run instead, and the next
    /// run reports it from its first attempt: the reconnect waits the base delay, and repeated failures grow from there.
    /// </summary>
    private async ValueTask AttemptAsync(CancellationToken cancellationToken)
    {
        if (_failureAfterProgress is { } failure)
        {
            _failureAfterProgress = null;
            ExceptionDispatchInfo.Throw(failure);
        }

        _watchProgressed = false;
        try
        {
            await ListAndWatchOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_watchProgressed && e is not OperationCanceledException)
        {
            _failureAfterProgress = e;
        }
    }

    private async ValueTask ListAndWatchOnceAsync(CancellationToken cancellationToken)
    {
        if (_needsList || _resourceVersion is null)
        {
            await ListAsync(cancellationToken).ConfigureAwait(false);
        }

        await WatchAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        ResourceListResult list;
        while (true)
        {
            try
            {
                list = await ListWithTimeoutAsync(cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (KubernetesStatusException e) when (_owner.GetFallback(this, e) is { } fallback)
            {
                SwitchTo(fallback);
            }
        }

        if (list.Items.Count > 0 && !list.Items.Any(static i => i?.Metadata?.Name is { Length: > 0 }))
        {
            // Objects none of which can be held are a broken answer, not "everything was deleted": swapping in an empty set
            // would take every endpoint away.
            throw new MalformedListException(_queryText, list.Items.Count);
        }

        _badListLogged = false;
        var previous = _store;
        var listed = _intake.FromList(list.Items, previous);
        if (_hasSynced)
        {
            _context.Metrics.Relists.Add(1, WatcherContext.Tags(_service, Query));
        }

        // One swap: readers go from the old complete set to the new complete set, never through an empty one.
        lock (_lock)
        {
            _store = listed;
            _resourceVersion = list.ResourceVersion;
            _hasSynced = true;
        }

        _needsList = false;
        _failuresSinceProgress = 0;
        _owner.OnContact(this);
        await _owner.OnChangedAsync(new InformerChange(this, InformerChangeKind.Listed, null, previous, listed), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Watches another query from now on. What is held belongs to the old one (slices, not Endpoints): until the new
    /// query's list arrives the informer counts as not synced, so the owner builds nothing from it and its last
    /// published snapshot stays.
    /// </summary>
    private void SwitchTo(ResourceQuery fallback)
    {
        lock (_lock)
        {
            _hasSynced = false;
            Query = fallback;
        }
    }

    private async Task<ResourceListResult> ListWithTimeoutAsync(CancellationToken cancellationToken)
    {
        // The client's HttpClient timeout (100 s) is the only other bound, and it runs on the real clock: a server that
        // accepts the request and never answers would hold the Service's sync (or re-list) that long.
        var timeout = _context.Options.RequestTimeout;
        using var timeoutSource = new CancellationTokenSource(timeout, _context.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            return await _context.Api.ListAsync(Query, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RequestTimedOutException("list " + _queryText, timeout, e);
        }
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        var options = _context.Options;
        var timeoutSeconds = JitteredTimeoutSeconds(options.WatchTimeout);
        var deadline = TimeSpan.FromSeconds(timeoutSeconds) + options.WatchGracePeriod;
        using var deadlineSource = new CancellationTokenSource(deadline, _context.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadlineSource.Token);
        var startedAt = _context.TimeProvider.GetTimestamp();
        var receivedAny = false;
        try
        {
            var events = _context.Api.WatchAsync(Query, _resourceVersion!, timeoutSeconds, OnMalformedEvent, linked.Token);
            await foreach (var (type, item) in events.WithCancellation(linked.Token).ConfigureAwait(false))
            {
                receivedAny = true;
                await ApplyAsync(type, item, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadlineSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            DiscoveryLog.WatchDeadlineExceeded(_context.Logger, _queryText, _service.Namespace, _service.Name, deadline);
            throw new WatchDeadlineExceededException(deadline);
        }
        catch (MalformedWatchStreamException e) when (_malformedStreak++ == 0)
        {
            // Resuming from the last resourceVersion replays whatever followed the bad line; only a stream that keeps
            // breaking this way without progress is backed off like any other failure.
            OnMalformedEvent(e.InnerException ?? e);
            return;
        }
        catch (KubernetesStatusException e) when (e.IsForbidden && _owner.GetFallback(this, e) is { } fallback)
        {
            // Listing slices was allowed but watching them is not: switch to Endpoints and re-list.
            SwitchTo(fallback);
            _needsList = true;
            return;
        }
        catch (KubernetesStatusException e) when (e.IsGone)
        {
            DiscoveryLog.WatchExpired(_context.Logger, _queryText, _service.Namespace, _service.Name);
            _owner.OnContact(this);
            _needsList = true;
            return;
        }

        DiscoveryLog.WatchEnded(_context.Logger, _queryText, _resourceVersion);
        _owner.OnContact(this);
        if (!receivedAny && _context.TimeProvider.GetElapsedTime(startedAt) < TimeSpan.FromSeconds(timeoutSeconds) / 2)
        {
            // A server that keeps closing watches at once, without a word, would otherwise be hammered in a tight loop.
            if (++_prematureEnds >= FailuresBeforeRelist)
            {
                _prematureEnds = 0;
                throw new WatchEndedPrematurelyException();
            }
        }
        else
        {
            _prematureEnds = 0;
        }
    }

    private async ValueTask ApplyAsync(WatchEventType type, IKubernetesObject<V1ObjectMeta>? item, CancellationToken cancellationToken)
    {
        _context.Metrics.WatchEvents.Add(1, WatcherContext.EventTags(_service, Query, type));
        _failuresSinceProgress = 0;
        _malformedStreak = 0;
        _watchProgressed = true;
        _owner.OnContact(this);
        if (item?.Metadata is not { } metadata)
        {
            OnMalformedEvent(new FormatException($"A {type} event carried no object metadata."));
            return;
        }

        if (metadata.ResourceVersion is { Length: > 0 } resourceVersion)
        {
            lock (_lock)
            {
                _resourceVersion = resourceVersion;
            }
        }

        if (type == WatchEventType.Bookmark)
        {
            return;
        }

        if (metadata.Name is not { Length: > 0 } name)
        {
            OnMalformedEvent(new FormatException($"A {type} event carried an object without a name."));
            return;
        }

        var store = _store;
        var (updated, kind) = _intake.Apply(type, item, name, store);
        if (ReferenceEquals(updated, store))
        {
            return;
        }

        lock (_lock)
        {
            _store = updated;
        }
        await _owner.OnChangedAsync(new InformerChange(this, kind, name, store, updated), cancellationToken).ConfigureAwait(false);
    }

    private void OnMalformedEvent(Exception error)
        => DiscoveryLog.MalformedEvent(_context.Logger, error, _queryText, _service.Namespace, _service.Name);

    private void OnRetry(Exception? error, int attempt, TimeSpan delay)
    {
        error ??= new UnreachableException("A retry without an exception.");
        _failuresSinceProgress++;
        if (_failuresSinceProgress >= FailuresBeforeRelist || error is KubernetesStatusException { IsGone: true })
        {
            _needsList = true;
        }

        _context.Metrics.Reconnects.Add(1, WatcherContext.Tags(_service, Query));
        if (error is not MalformedListException || !_badListLogged)
        {
            _badListLogged |= error is MalformedListException;
            DiscoveryLog.ReadFailed(_context.Logger, error, _queryText, _service.Namespace, _service.Name, attempt, delay);
        }
        _owner.OnFailure(this, error);
    }

    private int JitteredTimeoutSeconds(TimeSpan watchTimeout)
    {
        // Spread reconnects of many watchers over time instead of all ending together.
        var seconds = watchTimeout.TotalSeconds * (1 - (0.2 * _context.Random()));
        return Math.Max(1, (int)seconds);
    }
}
