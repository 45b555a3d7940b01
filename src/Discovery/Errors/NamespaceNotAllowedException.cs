namespace Discovery;

/// <summary>The Service's namespace is outside the configured allow-list.</summary>
public sealed class NamespaceNotAllowedException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public NamespaceNotAllowedException(ServiceKey service, IReadOnlyCollection<string> allowedNamespaces)
        : base(service, $"Namespace '{service.Namespace}' is not in Discovery:AllowedNamespaces ({string.Join(", ", allowedNamespaces)}); refusing to resolve Service '{service.Name}'. Add the namespace to the allow-list if this app should call it.")
    {
        AllowedNamespaces = allowedNamespaces;
    }

    /// <summary>The namespaces that are allowed.</summary>
    public IReadOnlyCollection<string> AllowedNamespaces { get; }
}
