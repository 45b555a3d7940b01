namespace Discovery;

/// <summary>
/// The Service has <c>internalTrafficPolicy: Local</c>, which needs the node this application runs on, and the node name is
/// neither configured nor in the <c>NODE_NAME</c> environment variable.
/// </summary>
public sealed class NodeNameUnknownException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public NodeNameUnknownException(ServiceKey service)
        : base(service, $"Service '{service.Name}' in namespace '{service.Namespace}' has internalTrafficPolicy: Local, which sends requests only to endpoints on this application's node, and the node is unknown. Set the environment variable {KubernetesDiscoveryOptions.NodeNameEnvironmentVariable} from the Downward API (env: - name: {KubernetesDiscoveryOptions.NodeNameEnvironmentVariable}, valueFrom: fieldRef: fieldPath: spec.nodeName) or configure Discovery:NodeName.")
    {
    }
}
