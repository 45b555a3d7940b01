using System.Globalization;
using System.Text.Json.Nodes;
using Discovery.Testing.Store;
using Discovery.Testing.Wire;
using Microsoft.AspNetCore.Http;

namespace Discovery.Testing.Http;

/// <summary>
/// Streams one watch: headers at once, then one line per event, each written (one HTTP/1.1 chunk)
/// and flushed on its own. No thread per watch: the loop awaits the subscription's channel.
/// </summary>
internal sealed class WatchStreamer
{
    private static readonly byte[] MalformedLine = "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\n"u8.ToArray();
    private readonly ObjectStore _store;
    private readonly EmulatorFaults _faults;
    private readonly KubernetesApiEmulatorOptions _options;

    public WatchStreamer(ObjectStore store, EmulatorFaults faults, KubernetesApiEmulatorOptions options)
    {
        _store = store;
        _faults = faults;
        _options = options;
    }

    /// <summary>Answers 200 with one ERROR event carrying a 410 Status, then ends the stream (a too-old resourceVersion).</summary>
    public static async Task WriteExpiredAsync(HttpContext context, JsonObject status)
    {
        ResponseWriter.SetHeaders(context.Response, 200);
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        var line = StoreEvent.BuildLine("ERROR", WireJson.Serialize(status));
        await context.Response.Body.WriteAsync(line, context.RequestAborted).ConfigureAwait(false);
    }

    public async Task StreamAsync(HttpContext context, ApiRoute route, WatchFilter filter, long? fromRevision, bool allowBookmarks, int? timeoutSeconds, CancellationToken stopping)
    {
        var start = _store.OpenWatch(route.Type, route.Namespace, fromRevision);
        if (start.Subscription is null)
        {
            await WriteExpiredAsync(context, StatusBodies.WatchTooOld(start.TooOldRequested!.Value, start.OldestValid)).ConfigureAwait(false);
            return;
        }

        using var subscription = start.Subscription;
        var time = _options.TimeProvider;
        using var deadline = timeoutSeconds is > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds.Value), time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, subscription.Dropped.Token, deadline.Token, stopping);
        var token = linked.Token;
        ITimer? deadlineBookmark = null;
        ITimer? periodicBookmark = null;
        try
        {
            ResponseWriter.SetHeaders(context.Response, 200);
            await context.Response.StartAsync(token).ConfigureAwait(false);

            // A watch answers with its headers at once, before any event.
            await context.Response.Body.FlushAsync(token).ConfigureAwait(false);
            if (allowBookmarks)
            {
                if (timeoutSeconds is > 0 && TimeSpan.FromSeconds(timeoutSeconds.Value) > _options.BookmarkBeforeDeadline)
                {
                    deadlineBookmark = time.CreateTimer(QueueBookmark, subscription, TimeSpan.FromSeconds(timeoutSeconds.Value) - _options.BookmarkBeforeDeadline, Timeout.InfiniteTimeSpan);
                }

                if (_options.BookmarkInterval > TimeSpan.Zero)
                {
                    periodicBookmark = time.CreateTimer(QueueBookmark, subscription, _options.BookmarkInterval, _options.BookmarkInterval);
                }
            }

            var body = context.Response.Body;
            foreach (var e in start.Backlog)
            {
                await SendAsync(body, filter, route.Type, e, allowBookmarks, token).ConfigureAwait(false);
                subscription.Processed();
            }

            var reader = subscription.Events.Reader;
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var e))
                {
                    await SendAsync(body, filter, route.Type, e, allowBookmarks, token).ConfigureAwait(false);
                    subscription.Processed();
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !subscription.Dropped.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            // timeoutSeconds reached: end the response cleanly (terminating chunk, connection reusable).
        }
        catch (OperationCanceledException) when (subscription.Dropped.IsCancellationRequested || stopping.IsCancellationRequested)
        {
            context.Abort();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
        finally
        {
            if (deadlineBookmark is not null)
            {
                await deadlineBookmark.DisposeAsync().ConfigureAwait(false);
            }

            if (periodicBookmark is not null)
            {
                await periodicBookmark.DisposeAsync().ConfigureAwait(false);
            }

            _store.CloseWatch(subscription);
        }
    }

    private void QueueBookmark(object? state) => _store.QueueBookmark((WatchSubscription)state!);

    private async ValueTask SendAsync(Stream body, WatchFilter filter, ResourceType type, StoreEvent e, bool allowBookmarks, CancellationToken token)
    {
        byte[]? line = e.Type switch
        {
            StoreEventType.Bookmark => allowBookmarks ? BookmarkLine(type, e.ResourceVersion) : null,
            StoreEventType.Malformed => MalformedLine,
            _ => filter.LineFor(e),
        };
        if (line is null)
        {
            return;
        }

        var resumed = _faults.WhenResumed();
        if (!resumed.IsCompleted)
        {
            await resumed.WaitAsync(token).ConfigureAwait(false);
        }

        await body.WriteAsync(line, token).ConfigureAwait(false);
    }

    /// <summary>An empty object of the watched kind carrying only the revision, as the watch cache sends.</summary>
    private static byte[] BookmarkLine(ResourceType type, long revision)
    {
        var empty = new JsonObject
        {
            ["kind"] = type.Kind,
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
        };
        return StoreEvent.BuildLine("BOOKMARK", WireJson.Serialize(type.Shape.Canonicalize(empty)!));
    }
}
