using Microsoft.Extensions.Options;

namespace Discovery.Http;

/// <summary>Validates <see cref="DiscoveryHttpClientOptions"/> so that a bad configuration fails at startup, naming the setting.</summary>
internal sealed class DiscoveryHttpClientOptionsValidator : IValidateOptions<DiscoveryHttpClientOptions>
{
    private readonly IEnumerable<ILoadBalancingPolicy> _policies;

    public DiscoveryHttpClientOptionsValidator(IEnumerable<ILoadBalancingPolicy> policies)
    {
        _policies = policies;
    }

    public ValidateOptionsResult Validate(string? name, DiscoveryHttpClientOptions options)
    {
        var failures = new List<string>();
        var client = string.IsNullOrEmpty(name) ? "every client" : $"client '{name}'";
        if (options.Policy is null && string.IsNullOrWhiteSpace(options.LoadBalancingPolicy))
        {
            failures.Add($"Discovery:Http:LoadBalancingPolicy ({client}) must name a policy.");
        }
        else if (options.Policy is null
            && LoadBalancingPolicyResolver.TryBuiltIn(options.LoadBalancingPolicy) is null
            && !_policies.Any(p => string.Equals(p.Name, options.LoadBalancingPolicy, StringComparison.OrdinalIgnoreCase)))
        {
            failures.Add($"Discovery:Http:LoadBalancingPolicy ({client}) is '{options.LoadBalancingPolicy}', which names no policy: use {LoadBalancingPolicyNames.PowerOfTwoChoices}, {LoadBalancingPolicyNames.RoundRobin} or {LoadBalancingPolicyNames.Random}, or register an ILoadBalancingPolicy with that name.");
        }

        if (options.MaxConnectFailureRetries is < 0 or > 100)
        {
            failures.Add($"Discovery:Http:MaxConnectFailureRetries ({client}) must be between 0 and 100; it is {options.MaxConnectFailureRetries}.");
        }

        if (options.MaxRetriesAfterSend is < 0 or > 100)
        {
            failures.Add($"Discovery:Http:MaxRetriesAfterSend ({client}) must be between 0 and 100; it is {options.MaxRetriesAfterSend}.");
        }

        if (options.SlowStartWindow is { } window && window <= TimeSpan.Zero)
        {
            failures.Add($"Discovery:Http:SlowStartWindow ({client}) must be positive, or unset to turn slow start off; it is {window}.");
        }

        if (options.AttemptTimeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            failures.Add($"Discovery:Http:AttemptTimeout ({client}) must be positive; it is {timeout}.");
        }

        if (options.MinLocalZoneShare is < 0 or > 1 || double.IsNaN(options.MinLocalZoneShare))
        {
            failures.Add($"Discovery:Http:MinLocalZoneShare ({client}) must be between 0 and 1; it is {options.MinLocalZoneShare}.");
        }

        var health = options.PassiveHealth;
        if (health.ConsecutiveFailures < 1)
        {
            failures.Add($"Discovery:Http:PassiveHealth:ConsecutiveFailures ({client}) must be at least 1; it is {health.ConsecutiveFailures}.");
        }

        if (health.BaseEjectionDuration <= TimeSpan.Zero || health.MaxEjectionDuration < health.BaseEjectionDuration)
        {
            failures.Add($"Discovery:Http:PassiveHealth ({client}): BaseEjectionDuration must be positive and at most MaxEjectionDuration; they are {health.BaseEjectionDuration} and {health.MaxEjectionDuration}.");
        }
        else if (health.BaseEjectionDuration > TimeSpan.FromHours(1) || health.MaxEjectionDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"Discovery:Http:PassiveHealth ({client}): BaseEjectionDuration must be at most 1 hour and MaxEjectionDuration at most 1 day; they are {health.BaseEjectionDuration} and {health.MaxEjectionDuration}.");
        }

        if (health.MaxEjectedShare is < 0 or > 1 || double.IsNaN(health.MaxEjectedShare))
        {
            failures.Add($"Discovery:Http:PassiveHealth:MaxEjectedShare ({client}) must be between 0 and 1; it is {health.MaxEjectedShare}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
