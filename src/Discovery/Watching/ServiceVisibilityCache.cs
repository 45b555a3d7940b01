using System.Collections.Concurrent;

namespace Discovery.Internal;

/// <summary>
/// Answers whether a <c>name.namespace</c> host names a Service the app can see, with one list request per host per
/// <see cref="KubernetesDiscoveryOptions.NegativeCacheDuration"/>, and remembers the negative answers. Such hosts are often
/// external names (<c>example.com</c>): a watcher per host would keep a watch, retries and warnings running for nothing.
/// </summary>
/// <remarks>
/// Thread-safe without a lock: the dictionaries' own atomic operations. A probe is shared by concurrent lookups of the same
/// host. Hosts come from user input, so the remembered answers are capped (<see cref="KubernetesDiscoveryOptions.MaxWatchers"/>);
/// past the cap, expired ones are dropped, and when none has expired a new answer is not remembered.
/// </remarks>
internal sealed class ServiceVisibilityCache(WatcherContext context)
{
    private readonly ConcurrentDictionary<ServiceKey, long> _notVisibleUntil = new();
    private readonly ConcurrentDictionary<ServiceKey, Lazy<Task<ServiceVisibility>>> _probes = new();

    /// <summary>Whether <paramref name="service"/> was found not visible less than the negative-cache period ago.</summary>
    public bool IsKnownNotVisible(ServiceKey service)
        => _notVisibleUntil.TryGetValue(service, out var until) && context.TimeProvider.GetTimestamp() < until;

    /// <summary>Asks the API once (shared by concurrent callers) whether the Service exists and may be read.</summary>
    public Task<ServiceVisibility> ProbeAsync(ServiceKey service, CancellationToken cancellationToken)
    {
        var probe = _probes.GetOrAdd(service, key => new Lazy<Task<ServiceVisibility>>(() => RunProbeAsync(key)));
        return probe.Value.WaitAsync(cancellationToken);
    }

    private async Task<ServiceVisibility> RunProbeAsync(ServiceKey service)
    {
        try
        {
            var visibility = await ListAsync(service).ConfigureAwait(false);
            if (visibility is ServiceVisibility.NotFound or ServiceVisibility.Forbidden)
            {
                Remember(service);
                DiscoveryLog.HostNotVisible(context.Logger, service.Namespace, service.Name, visibility == ServiceVisibility.Forbidden ? "RBAC refuses listing Services in that namespace" : "no such Service", context.Options.NegativeCacheDuration);
            }

            return visibility;
        }
        finally
        {
            _probes.TryRemove(service, out _);
        }
    }

    private async Task<ServiceVisibility> ListAsync(ServiceKey service)
    {
        var timeout = context.Options.RequestTimeout;
        using var timeoutSource = new CancellationTokenSource(timeout, context.TimeProvider);
        try
        {
            var query = new ResourceQuery(WatchedResource.Services, service.Namespace, null, "metadata.name=" + service.Name);
            var list = await context.Api.ListAsync(query, timeoutSource.Token).ConfigureAwait(false);
            return list.Items.Any(i => string.Equals(i?.Metadata?.Name, service.Name, StringComparison.Ordinal)) ? ServiceVisibility.Visible : ServiceVisibility.NotFound;
        }
        catch (KubernetesStatusException e) when (e.IsForbidden)
        {
            // A namespace the app has no rights in: for a host that may be an external name, that is an answer.
            return ServiceVisibility.Forbidden;
        }
        catch (Exception e) when (e is not OperationCanceledException || timeoutSource.IsCancellationRequested)
        {
            // The API cannot answer now: the caller takes the ordinary path (a watcher, its retries and timeout).
            return ServiceVisibility.Unknown;
        }
    }

    private void Remember(ServiceKey service)
    {
        var now = context.TimeProvider.GetTimestamp();
        var until = now + (long)(context.Options.NegativeCacheDuration.TotalSeconds * context.TimeProvider.TimestampFrequency);
        if (_notVisibleUntil.Count >= context.Options.MaxWatchers && !_notVisibleUntil.ContainsKey(service))
        {
            foreach (var (key, expiry) in _notVisibleUntil)
            {
                if (expiry <= now)
                {
                    _notVisibleUntil.TryRemove(new KeyValuePair<ServiceKey, long>(key, expiry));
                }
            }

            if (_notVisibleUntil.Count >= context.Options.MaxWatchers)
            {
                return;
            }
        }

        _notVisibleUntil[service] = until;
    }
}
