using Microsoft.Extensions.Options;

namespace Discovery.Internal;

/// <summary>Cross-field and format rules of <see cref="KubernetesDiscoveryOptions"/> that data annotations cannot express.</summary>
internal sealed class KubernetesDiscoveryOptionsValidator : IValidateOptions<KubernetesDiscoveryOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesDiscoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Namespace) && !ServiceHostParser.IsDns1123Label(options.Namespace.Trim().ToLowerInvariant()))
        {
            failures.Add($"Discovery:Namespace '{options.Namespace}' is not a valid namespace name (DNS-1123 label).");
        }

        var domain = options.ClusterDomain?.Trim().TrimEnd('.') ?? string.Empty;
        if (domain.Length == 0 || domain.Split('.').Any(label => !ServiceHostParser.IsDns1123Label(label.ToLowerInvariant())))
        {
            failures.Add($"Discovery:ClusterDomain '{options.ClusterDomain}' is not a valid DNS domain (for example cluster.local).");
        }

        // TimeSpan bounds are checked here, not with [Range(typeof(TimeSpan), ...)]: that attribute converts its string
        // limits lazily and without a lock, so two hosts validating these options for the first time at once can fail
        // with an InvalidCastException (seen in CI when test hosts started in parallel).
        CheckRange(failures, "IdleTimeout", options.IdleTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        CheckRange(failures, "RequestTimeout", options.RequestTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        CheckRange(failures, "InitialSyncTimeout", options.InitialSyncTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        CheckRange(failures, "WatchTimeout", options.WatchTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        CheckRange(failures, "WatchGracePeriod", options.WatchGracePeriod, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        CheckRange(failures, "ReconnectBaseDelay", options.ReconnectBaseDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        CheckRange(failures, "ReconnectMaxDelay", options.ReconnectMaxDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        CheckRange(failures, "NegativeCacheDuration", options.NegativeCacheDuration, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        CheckRange(failures, "StaleAfter", options.StaleAfter, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));

        if (options.ReconnectMaxDelay < options.ReconnectBaseDelay)
        {
            failures.Add($"Discovery:ReconnectMaxDelay ({options.ReconnectMaxDelay}) must not be shorter than Discovery:ReconnectBaseDelay ({options.ReconnectBaseDelay}).");
        }

        if (options.Source == EndpointSourceKind.Pods)
        {
            // Pods are not an alternative source for Services: a name is discovered from pods exactly when PodSelectors
            // has an entry for it, whatever Source says. Accepting "Pods" here would suggest a switch that does nothing.
            failures.Add("Discovery:Source cannot be Pods: pod discovery is per name, through Discovery:PodSelectors (for example \"alpaca\": \"app=alpaca,env=prod\"), under any Source. Remove Discovery:Source, or set it to EndpointSlices or Endpoints (the source for Services).");
        }
        else if (options.Source is not (EndpointSourceKind.EndpointSlices or EndpointSourceKind.Endpoints))
        {
            failures.Add($"Discovery:Source must be EndpointSlices or Endpoints, not {options.Source} (ExternalName, environment variables and DNS are chosen automatically; pods through Discovery:PodSelectors).");
        }

        if (options.WatchScope is not (WatchScope.Service or WatchScope.Namespace or WatchScope.Auto))
        {
            failures.Add($"Discovery:WatchScope must be Auto, Service or Namespace, not {options.WatchScope}.");
        }

        foreach (var ns in options.AllowedNamespaces)
        {
            if (string.IsNullOrWhiteSpace(ns) || !ServiceHostParser.IsDns1123Label(ns.Trim().ToLowerInvariant()))
            {
                failures.Add($"Discovery:AllowedNamespaces entry '{ns}' is not a valid namespace name.");
            }
        }

        foreach (var entry in options.PrewarmServices)
        {
            if (!TryParseServiceEntry(entry, "default", out _))
            {
                failures.Add($"Discovery:PrewarmServices entry '{entry}' must be 'name' or 'name.namespace' with DNS-1035/1123 labels.");
            }
        }

        foreach (var (key, selector) in options.PodSelectors)
        {
            if (!TryParseServiceEntry(key, "default", out _))
            {
                failures.Add($"Discovery:PodSelectors key '{key}' must be 'name' or 'name.namespace' with DNS labels.");
            }

            if (string.IsNullOrWhiteSpace(selector) || !selector.Contains('=', StringComparison.Ordinal) && !selector.Contains(" in ", StringComparison.Ordinal))
            {
                failures.Add($"Discovery:PodSelectors['{key}'] must be a label selector such as 'app=alpaca,env=prod'.");
            }
        }

        if (options.KubeconfigPath is { Length: > 0 } path && !File.Exists(path))
        {
            failures.Add($"Discovery:KubeconfigPath '{path}' does not exist.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckRange(List<string> failures, string setting, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"Discovery:{setting} must be between {min} and {max}; it is {value}.");
        }
    }

    /// <summary>Parses <c>name</c> or <c>name.namespace</c>.</summary>
    public static bool TryParseServiceEntry(string? entry, string defaultNamespace, out ServiceKey service)
    {
        service = default;
        if (string.IsNullOrWhiteSpace(entry))
        {
            return false;
        }

        var parts = entry.Trim().ToLowerInvariant().Split('.');
        if (parts.Length > 2 || !ServiceHostParser.IsDns1035Label(parts[0]) || (parts.Length == 2 && !ServiceHostParser.IsDns1123Label(parts[1])))
        {
            return false;
        }

        service = new ServiceKey(parts.Length == 2 ? parts[1] : defaultNamespace, parts[0]);
        return true;
    }
}
