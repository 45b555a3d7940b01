using System.Globalization;

namespace Discovery;

/// <summary>
/// A lookup needed a new watcher but the resolver already watches <see cref="KubernetesDiscoveryOptions.MaxWatchers"/>
/// Services, none of them idle. Usually a sign that request hosts come from user input.
/// </summary>
public sealed class WatcherLimitExceededException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="service">The Service that could not be watched.</param>
    /// <param name="maxWatchers">The configured cap.</param>
    public WatcherLimitExceededException(ServiceKey service, int maxWatchers)
        : base(service, string.Create(CultureInfo.InvariantCulture, $"Cannot discover Service '{service.Name}' in namespace '{service.Namespace}': this resolver already watches {maxWatchers} Services, the limit set by Discovery:MaxWatchers (KubernetesDiscoveryOptions.MaxWatchers), and none of them is idle. Raise Discovery:MaxWatchers if the app really calls that many Services; otherwise check where request hosts come from, restrict them with Discovery:AllowedNamespaces, or shorten Discovery:IdleTimeout."))
    {
        MaxWatchers = maxWatchers;
    }

    /// <summary>The configured cap (<see cref="KubernetesDiscoveryOptions.MaxWatchers"/>).</summary>
    public int MaxWatchers { get; }
}
