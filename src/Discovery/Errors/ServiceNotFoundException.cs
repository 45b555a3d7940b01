namespace Discovery;

/// <summary>The Service does not exist in the namespace.</summary>
public sealed class ServiceNotFoundException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public ServiceNotFoundException(ServiceKey service)
        : base(service, $"Service '{service.Name}' was not found in namespace '{service.Namespace}'. Check the name in the URL (kubectl get service {service.Name} -n {service.Namespace}), or set Discovery:Namespace if the Service lives in another namespace.")
    {
    }
}
