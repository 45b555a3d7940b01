using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Discovery;

/// <summary>
/// Reports watchers that never synced within <see cref="KubernetesDiscoveryOptions.InitialSyncTimeout"/> and watchers
/// that are failing with endpoints older than <see cref="KubernetesDiscoveryOptions.StaleAfter"/>.
/// </summary>
internal sealed class KubernetesDiscoveryHealthCheck : IHealthCheck
{
    private readonly KubernetesServiceEndpointResolver _resolver;
    private readonly KubernetesDiscoveryOptions _options;

    /// <summary>Creates the check.</summary>
    public KubernetesDiscoveryHealthCheck(KubernetesServiceEndpointResolver resolver, IOptions<KubernetesDiscoveryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(options);
        _resolver = resolver;
        _options = options.Value;
    }

    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var statuses = _resolver.GetWatcherStatuses();
        var unsynced = statuses.Where(s => !s.IsSynced && s.Age > _options.InitialSyncTimeout).Select(s => s.Service.ToString()).ToArray();
        var stale = statuses.Where(s => s.IsStale).Select(s => $"{s.Service} ({s.SinceLastContact.TotalSeconds:0} s)").ToArray();
        var data = new Dictionary<string, object>
        {
            ["watchers"] = statuses.Count,
            ["unsynced"] = unsynced,
            ["stale"] = stale,
        };
        if (unsynced.Length == 0 && stale.Length == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"{statuses.Count} Service watcher(s) in sync.", data));
        }

        var parts = new List<string>();
        if (unsynced.Length > 0)
        {
            parts.Add($"not synced: {string.Join(", ", unsynced)}");
        }

        if (stale.Length > 0)
        {
            parts.Add($"stale (API unreachable, last known endpoints in use): {string.Join(", ", stale)}");
        }

        return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "Kubernetes discovery: " + string.Join("; ", parts), data: data));
    }
}
