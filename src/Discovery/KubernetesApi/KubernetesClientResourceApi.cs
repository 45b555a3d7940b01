using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Discovery.Internal;

/// <summary><see cref="IKubernetesResourceApi"/> over the stock <see cref="IKubernetes"/> client, smoothing out its error shapes.</summary>
internal sealed class KubernetesClientResourceApi(IKubernetes client) : IKubernetesResourceApi
{
    public async Task<ResourceListResult> ListAsync(ResourceQuery query, CancellationToken cancellationToken)
    {
        try
        {
            switch (query.Resource)
            {
                case WatchedResource.Services:
                    var services = await client.CoreV1.ListNamespacedServiceAsync(namespaceParameter: query.Namespace, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return new ResourceListResult(services.Items?.ToArray() ?? [], services.Metadata?.ResourceVersion);
                case WatchedResource.EndpointSlices:
                    var slices = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(namespaceParameter: query.Namespace, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return new ResourceListResult(slices.Items?.ToArray() ?? [], slices.Metadata?.ResourceVersion);
                case WatchedResource.Endpoints:
                    var endpoints = await client.CoreV1.ListNamespacedEndpointsAsync(namespaceParameter: query.Namespace, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return new ResourceListResult(endpoints.Items?.ToArray() ?? [], endpoints.Metadata?.ResourceVersion);
                default:
                    var pods = await client.CoreV1.ListNamespacedPodAsync(namespaceParameter: query.Namespace, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return new ResourceListResult(pods.Items?.ToArray() ?? [], pods.Metadata?.ResourceVersion);
            }
        }
        catch (HttpOperationException e)
        {
            throw Translate(e, "list");
        }
    }

    public async IAsyncEnumerable<ResourceEvent> WatchAsync(
        ResourceQuery query, string resourceVersion, int timeoutSeconds, Action<Exception> onMalformedEvent, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // ERROR events reach onError, not the enumeration, and the client swallows what onError throws: remember the
        // error and raise it from here once the stream has ended (the server closes it right after an ERROR event).
        KubernetesStatusException? statusError = null;
        void OnError(Exception error)
        {
            switch (error)
            {
                case KubernetesException k:
                    statusError ??= new KubernetesStatusException(k.Status?.Code ?? 500, k.Status?.Reason, k.Status?.Message ?? k.Message, k, "watch");
                    break;
                case KubernetesStatusException s:
                    statusError ??= s;
                    break;
                default:
                    // Anything else the client reports per line (bad JSON, blank line, unknown type) loses one line only.
                    onMalformedEvent(error);
                    break;
            }
        }

        var enumerator = Open(query, resourceVersion, timeoutSeconds, OnError, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var disposeEnumerator = enumerator.ConfigureAwait(false);
        while (true)
        {
            ResourceEvent current;
            try
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    break;
                }

                if (statusError is not null)
                {
                    break;
                }

                current = enumerator.Current;
            }
            catch (HttpOperationException e)
            {
                throw Translate(e, "watch");
            }
            catch (JsonException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new MalformedWatchStreamException(e);
            }
            catch (HttpRequestException e) when (e.InnerException is EndOfStreamException && !cancellationToken.IsCancellationRequested)
            {
                // A watch the server ends before sending any line surfaces as this exception: it is a normal end.
                break;
            }

            yield return current;
        }

        if (statusError is not null)
        {
            throw statusError;
        }
    }

    public async Task<IReadOnlyList<V1Node>> ListNodesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var nodes = await client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return nodes.Items?.ToArray() ?? [];
        }
        catch (HttpOperationException e)
        {
            throw Translate(e);
        }
    }

    public async Task<bool?> IsAllowedAsync(WatchedResource resource, string @namespace, string name, string verb, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await TryAsync(resource, @namespace, name, verb, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Forbidden)
        {
            return false;
        }
        catch (HttpOperationException e) when ((int?)e.Response?.StatusCode is >= 200 and < 300)
        {
            // Authorized: the client then fails to read a watch stream as a list, which does not matter here.
            return true;
        }
        catch (HttpRequestException e) when (e.InnerException is EndOfStreamException && verb == "watch")
        {
            // Authorized: a watch that sent no line before its timeout (1 s) ends this way.
            return true;
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // A get of an absent object passed RBAC (it is checked first); a list or watch of an unserved resource did not run.
            return verb == "get" ? true : null;
        }
        catch (HttpOperationException e)
        {
            throw Translate(e, verb);
        }
    }

    /// <summary>The call of <see cref="IsAllowedAsync"/>: its response is disposed at once (a watch is never read).</summary>
    private async Task<IDisposable> TryAsync(WatchedResource resource, string ns, string name, string verb, CancellationToken cancellationToken)
    {
        var field = "metadata.name=" + name;
        bool? watch = verb == "watch" ? true : null;
        int? limit = verb == "list" ? 1 : null;
        int? timeout = verb == "watch" ? 1 : null;
        return (resource, verb) switch
        {
            (WatchedResource.Services, "get") => await client.CoreV1.ReadNamespacedServiceWithHttpMessagesAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false),
            (WatchedResource.Services, _) => await client.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, fieldSelector: field, limit: limit, timeoutSeconds: timeout, watch: watch, cancellationToken: cancellationToken).ConfigureAwait(false),
            (WatchedResource.EndpointSlices, "get") => await client.DiscoveryV1.ReadNamespacedEndpointSliceWithHttpMessagesAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false),
            (WatchedResource.EndpointSlices, _) => await client.DiscoveryV1.ListNamespacedEndpointSliceWithHttpMessagesAsync(ns, fieldSelector: field, limit: limit, timeoutSeconds: timeout, watch: watch, cancellationToken: cancellationToken).ConfigureAwait(false),
            (WatchedResource.Endpoints, "get") => await client.CoreV1.ReadNamespacedEndpointsWithHttpMessagesAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false),
            (WatchedResource.Endpoints, _) => await client.CoreV1.ListNamespacedEndpointsWithHttpMessagesAsync(ns, fieldSelector: field, limit: limit, timeoutSeconds: timeout, watch: watch, cancellationToken: cancellationToken).ConfigureAwait(false),
            (_, "get") => await client.CoreV1.ReadNamespacedPodWithHttpMessagesAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false),
            _ => await client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, fieldSelector: field, limit: limit, timeoutSeconds: timeout, watch: watch, cancellationToken: cancellationToken).ConfigureAwait(false),
        };
    }

    private async IAsyncEnumerable<ResourceEvent> Open(
        ResourceQuery query, string resourceVersion, int timeoutSeconds, Action<Exception> onError, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        switch (query.Resource)
        {
            case WatchedResource.Services:
                await foreach (var (type, item) in client.CoreV1.WatchListNamespacedServiceAsync(namespaceParameter: query.Namespace, allowWatchBookmarks: true, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    yield return new ResourceEvent(type, item);
                }

                break;
            case WatchedResource.EndpointSlices:
                await foreach (var (type, item) in client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(namespaceParameter: query.Namespace, allowWatchBookmarks: true, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    yield return new ResourceEvent(type, item);
                }

                break;
            case WatchedResource.Endpoints:
                await foreach (var (type, item) in client.CoreV1.WatchListNamespacedEndpointsAsync(namespaceParameter: query.Namespace, allowWatchBookmarks: true, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    yield return new ResourceEvent(type, item);
                }

                break;
            default:
                await foreach (var (type, item) in client.CoreV1.WatchListNamespacedPodAsync(namespaceParameter: query.Namespace, allowWatchBookmarks: true, fieldSelector: query.FieldSelector, labelSelector: query.LabelSelector, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    yield return new ResourceEvent(type, item);
                }

                break;
        }
    }

    private static KubernetesStatusException Translate(HttpOperationException e, string? verb = null)
    {
        var code = (int)(e.Response?.StatusCode ?? 0);
        string? reason = null;
        string? message = null;
        var content = e.Response?.Content;
        if (!string.IsNullOrEmpty(content))
        {
            try
            {
                var status = KubernetesJson.Deserialize<V1Status>(content);
                reason = status?.Reason;
                message = status?.Message;
            }
            catch (JsonException)
            {
                // Not a Status body (a proxy's HTML page, say): the code alone still tells what happened.
            }
        }

        return new KubernetesStatusException(code, reason ?? e.Response?.ReasonPhrase, message, e, verb);
    }
}
