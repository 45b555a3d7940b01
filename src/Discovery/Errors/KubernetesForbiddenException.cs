namespace Discovery;

/// <summary>Kubernetes RBAC refused a request discovery needs.</summary>
public sealed class KubernetesForbiddenException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesForbiddenException(ServiceKey service, string verb, string resource, string apiGroup, string? serverMessage = null, Exception? innerException = null)
        : this(service, verb, resource, apiGroup, [new KubernetesRbacRule(apiGroup, resource, ["get", "list", "watch"])], serverMessage, innerException)
    {
    }

    /// <summary>Creates the exception naming every rule the app lacks for discovery of the Service.</summary>
    /// <param name="service">The Service concerned.</param>
    /// <param name="verb">The verb of the refused request.</param>
    /// <param name="resource">The resource of the refused request.</param>
    /// <param name="apiGroup">The API group of that resource.</param>
    /// <param name="missing">Every rule discovery of the Service needs that RBAC refuses (in the Service's namespace).</param>
    /// <param name="serverMessage">What the API server said.</param>
    /// <param name="innerException">The refusal.</param>
    public KubernetesForbiddenException(ServiceKey service, string verb, string resource, string apiGroup, IReadOnlyList<KubernetesRbacRule> missing, string? serverMessage = null, Exception? innerException = null)
        : base(service, BuildMessage(service, verb, resource, missing, serverMessage), innerException)
    {
        ArgumentNullException.ThrowIfNull(missing);
        Verb = verb;
        Resource = resource;
        ApiGroup = apiGroup;
        MissingRules = missing;
    }

    /// <summary>The verb refused (<c>get</c>, <c>list</c>, <c>watch</c>).</summary>
    public string Verb { get; }

    /// <summary>The resource refused (<c>endpointslices</c>, <c>services</c>, <c>endpoints</c>, <c>pods</c>).</summary>
    public string Resource { get; }

    /// <summary>The API group of the resource (empty for the core group).</summary>
    public string ApiGroup { get; }

    /// <summary>
    /// Every rule discovery of the Service needs and RBAC refuses, in the Service's namespace: granting all of them (a Role
    /// bound to the app's ServiceAccount) is enough for the next lookup to succeed.
    /// </summary>
    public IReadOnlyList<KubernetesRbacRule> MissingRules { get; }

    private static string BuildMessage(ServiceKey service, string verb, string resource, IReadOnlyList<KubernetesRbacRule> missing, string? serverMessage)
    {
        var server = serverMessage is null ? string.Empty : $" The API server said: {serverMessage}";
        var rules = string.Join("; ", missing.Select(m => "{" + m + "}"));
        return $"Forbidden: cannot {verb} {resource} in namespace '{service.Namespace}' (needed for Service '{service.Name}'). "
            + $"Grant the app's ServiceAccount a Role in namespace '{service.Namespace}' with {(missing.Count == 1 ? "this rule" : "these rules")}, which it lacks: {rules} (see docs/rbac.md).{server}";
    }
}
