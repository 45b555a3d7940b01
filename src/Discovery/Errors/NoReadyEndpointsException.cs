namespace Discovery;

/// <summary>The Service exists but has no endpoint that may receive traffic.</summary>
public sealed class NoReadyEndpointsException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public NoReadyEndpointsException(ServiceKey service, int notReadyCount, int terminatingCount, string? portName = null)
        : base(service, BuildMessage(service, notReadyCount, terminatingCount, portName))
    {
        NotReadyCount = notReadyCount;
        TerminatingCount = terminatingCount;
        PortName = portName;
    }

    /// <summary>Endpoints that exist but are not ready.</summary>
    public int NotReadyCount { get; }

    /// <summary>Endpoints that are terminating and not serving.</summary>
    public int TerminatingCount { get; }

    /// <summary>The port requested, when the Service has endpoints but none on that port.</summary>
    public string? PortName { get; }

    private static string BuildMessage(ServiceKey service, int notReady, int terminating, string? portName)
    {
        var port = string.IsNullOrEmpty(portName) ? string.Empty : $" on port '{portName}'";
        return $"Service '{service.Name}' in namespace '{service.Namespace}' has no ready endpoints{port} ({notReady} not ready, {terminating} terminating). Check the pods' readiness probes (kubectl get endpointslices -n {service.Namespace} -l kubernetes.io/service-name={service.Name}).";
    }
}
