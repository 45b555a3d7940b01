using Discovery;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the discovery health check.</summary>
public static class KubernetesDiscoveryHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds the discovery health check, reporting watchers that never synced within
    /// <see cref="KubernetesDiscoveryOptions.InitialSyncTimeout"/> or are failing with endpoints older than
    /// <see cref="KubernetesDiscoveryOptions.StaleAfter"/>. Requires
    /// <see cref="KubernetesDiscoveryServiceCollectionExtensions.AddKubernetesEndpointResolver"/>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status reported on a problem; <see cref="HealthStatus.Degraded"/> by default, since the last known endpoints stay in use.</param>
    /// <param name="tags">Tags of the check (for filtering readiness and liveness probes).</param>
    public static IHealthChecksBuilder AddKubernetesDiscoveryCheck(
        this IHealthChecksBuilder builder,
        string name = "kubernetes-discovery",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<KubernetesDiscoveryHealthCheck>(name, failureStatus ?? HealthStatus.Degraded, tags ?? []);
    }
}
