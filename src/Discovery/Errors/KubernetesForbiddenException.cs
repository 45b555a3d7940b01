namespace Discovery;

/// <summary>Kubernetes RBAC refused a request discovery needs.</summary>
public sealed class KubernetesForbiddenException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesForbiddenException(ServiceKey service, string verb, string resource, string apiGroup, string? serverMessage = null, Exception? innerException = null)
        : base(service, BuildMessage(service, verb, resource, apiGroup, serverMessage), innerException)
    {
        Verb = verb;
        Resource = resource;
        ApiGroup = apiGroup;
    }

    /// <summary>The verb refused (<c>get</c>, <c>list</c>, <c>watch</c>).</summary>
    public string Verb { get; }

    /// <summary>The resource refused (<c>endpointslices</c>, <c>services</c>, <c>endpoints</c>, <c>pods</c>).</summary>
    public string Resource { get; }

    /// <summary>The API group of the resource (empty for the core group).</summary>
    public string ApiGroup { get; }

    private static string BuildMessage(ServiceKey service, string verb, string resource, string apiGroup, string? serverMessage)
    {
        var group = apiGroup.Length == 0 ? "\"\"" : apiGroup;
        var server = serverMessage is null ? string.Empty : $" The API server said: {serverMessage}";
        return $"Forbidden: cannot {verb} {resource} in namespace '{service.Namespace}' (needed for Service '{service.Name}'). "
            + $"Grant the app's ServiceAccount a Role in namespace '{service.Namespace}' with rules: apiGroups [{group}], resources [{resource}], verbs [get, list, watch] (see docs/rbac.md).{server}";
    }
}
