namespace Discovery;

/// <summary>The Kubernetes API could not be reached before the Service's initial sync timed out.</summary>
public sealed class KubernetesApiUnavailableException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesApiUnavailableException(ServiceKey service, TimeSpan waited, Exception? innerException = null)
        : base(service, $"The Kubernetes API could not be reached to discover Service '{service.Name}' in namespace '{service.Namespace}' (waited {waited.TotalSeconds:0.#} s). Check connectivity to the API server and the client configuration (in-cluster or kubeconfig).{(innerException is null ? string.Empty : " Last error: " + innerException.Message)}", innerException)
    {
        Waited = waited;
    }

    /// <summary>How long the lookup waited for the initial sync.</summary>
    public TimeSpan Waited { get; }
}
