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

    /// <summary>
    /// Creates the exception for a Service with <c>internalTrafficPolicy: Local</c> that has no usable endpoint on this
    /// application's node: as kube-proxy drops such traffic, no request goes to other nodes.
    /// </summary>
    /// <param name="service">The Service.</param>
    /// <param name="nodeName">This application's node.</param>
    /// <param name="usableElsewhere">Usable endpoints of the port on other nodes.</param>
    /// <param name="portName">The port requested, if named.</param>
    public NoReadyEndpointsException(ServiceKey service, string nodeName, int usableElsewhere, string? portName = null)
        : base(service, BuildLocalMessage(service, nodeName, usableElsewhere, portName))
    {
        PortName = portName;
        NodeName = nodeName;
    }

    /// <summary>The node endpoints were required on (<c>internalTrafficPolicy: Local</c>), or <see langword="null"/>.</summary>
    public string? NodeName { get; }

    /// <summary>Endpoints that exist but are not ready.</summary>
    public int NotReadyCount { get; }

    /// <summary>Endpoints that are terminating and not serving.</summary>
    public int TerminatingCount { get; }

    /// <summary>The port requested, when the Service has endpoints but none on that port.</summary>
    public string? PortName { get; }

    private static string BuildLocalMessage(ServiceKey service, string nodeName, int elsewhere, string? portName)
    {
        var port = string.IsNullOrEmpty(portName) ? string.Empty : $" on port '{portName}'";
        return $"Service '{service.Name}' in namespace '{service.Namespace}' has internalTrafficPolicy: Local and no ready endpoint{port} on this node '{nodeName}' ({elsewhere} on other nodes, which Local excludes). Run a pod of it on this node (a DaemonSet), or set internalTrafficPolicy: Cluster.";
    }

    private static string BuildMessage(ServiceKey service, int notReady, int terminating, string? portName)
    {
        var port = string.IsNullOrEmpty(portName) ? string.Empty : $" on port '{portName}'";
        return $"Service '{service.Name}' in namespace '{service.Namespace}' has no ready endpoints{port} ({notReady} not ready, {terminating} terminating). Check the pods' readiness probes (kubectl get endpointslices -n {service.Namespace} -l kubernetes.io/service-name={service.Name}).";
    }
}
