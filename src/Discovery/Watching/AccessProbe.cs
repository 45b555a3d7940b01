namespace Discovery.Internal;

/// <summary>
/// Finds every RBAC rule discovery of one Service needs and the app lacks, by trying each call (get, list, watch on each
/// resource), so that a <see cref="KubernetesForbiddenException"/> can name them all at once instead of one per round of
/// fixes. Trying the calls works on every server (the emulator serves no SelfSubjectAccessReview).
/// </summary>
internal static class AccessProbe
{
    private static readonly string[] Verbs = ["get", "list", "watch"];

    /// <summary>
    /// The missing rules (empty when RBAC now allows everything), or <see langword="null"/> when the API could not tell
    /// (unreachable, timeout, an answer other than 403).
    /// </summary>
    /// <param name="context">The watcher context (API, options, clock).</param>
    /// <param name="service">The Service.</param>
    /// <param name="podSelector">The Service's pod selector, when it is discovered from pods.</param>
    /// <param name="selectorless">Whether the Service is known to have no selector (its hand-made Endpoints are read too).</param>
    /// <param name="cancellationToken">Stops the probe.</param>
    public static async Task<IReadOnlyList<KubernetesRbacRule>?> FindMissingAsync(
        WatcherContext context, ServiceKey service, string? podSelector, bool selectorless, CancellationToken cancellationToken)
    {
        var options = context.Options;
        List<WatchedResource> needed = podSelector is not null
            ? [WatchedResource.Pods]
            : options.Source == EndpointSourceKind.Endpoints
                ? [WatchedResource.Services, WatchedResource.Endpoints]
                : [WatchedResource.Services, WatchedResource.EndpointSlices];
        if (selectorless && options.Source == EndpointSourceKind.EndpointSlices)
        {
            needed.Add(WatchedResource.Endpoints);
        }

        using var timeout = new CancellationTokenSource(options.RequestTimeout, context.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var answers = await ProbeAsync(context, service, needed, linked.Token).ConfigureAwait(false);
            if (options.FallbackToEndpoints && !needed.Contains(WatchedResource.Endpoints)
                && answers.Any(a => a.Resource == WatchedResource.EndpointSlices && a.Allowed is null))
            {
                // EndpointSlices are not served: the fallback source is the one that must be readable.
                answers = [.. answers.Where(a => a.Resource != WatchedResource.EndpointSlices), .. await ProbeAsync(context, service, [WatchedResource.Endpoints], linked.Token).ConfigureAwait(false)];
            }

            return [.. answers
                .Where(a => a.Allowed == false)
                .GroupBy(a => a.Resource)
                .Select(g => new KubernetesRbacRule(ApiGroupOf(g.Key), NameOf(g.Key), [.. g.Select(a => a.Verb)]))];
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Unreachable, too slow, another status, no client yet: the refusal is reported as it came.
            return null;
        }
    }

    private static async Task<(WatchedResource Resource, string Verb, bool? Allowed)[]> ProbeAsync(
        WatcherContext context, ServiceKey service, IEnumerable<WatchedResource> resources, CancellationToken cancellationToken)
    {
        var api = context.Api;
        var calls = resources.SelectMany(r => Verbs.Select(async verb => (r, verb, await api.IsAllowedAsync(r, service.Namespace, service.Name, verb, cancellationToken).ConfigureAwait(false))));
        return await Task.WhenAll(calls).ConfigureAwait(false);
    }

    private static string NameOf(WatchedResource resource) => new ResourceQuery(resource, string.Empty, null, null).ResourceName;

    private static string ApiGroupOf(WatchedResource resource) => new ResourceQuery(resource, string.Empty, null, null).ApiGroup;
}
