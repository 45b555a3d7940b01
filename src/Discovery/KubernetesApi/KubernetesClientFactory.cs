using k8s;

namespace Discovery.Internal;

/// <summary>Builds the client when the application registered none: kubeconfig from options, else in-cluster, else the default kubeconfig.</summary>
internal sealed class KubernetesClientFactory(KubernetesDiscoveryOptions options) : IDisposable
{
    private readonly object _gate = new();
    private Kubernetes? _client;

    public IKubernetes GetOrCreate()
    {
        lock (_gate)
        {
            return _client ??= new Kubernetes(BuildConfiguration());
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _client?.Dispose();
            _client = null;
        }
    }

    private KubernetesClientConfiguration BuildConfiguration()
    {
        if (!string.IsNullOrEmpty(options.KubeconfigPath))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(options.KubeconfigPath, options.KubeconfigContext);
        }

        if (!string.IsNullOrEmpty(options.KubeconfigContext))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(currentContext: options.KubeconfigContext);
        }

        // In a pod the token file provider re-reads rotated service-account tokens for new requests.
        return KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildDefaultConfig();
    }
}
