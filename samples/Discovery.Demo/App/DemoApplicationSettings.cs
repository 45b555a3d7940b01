using k8s;

namespace Discovery.Demo.App;

/// <summary>How the application reaches the Kubernetes API.</summary>
public sealed record DemoApplicationSettings
{
    /// <summary>An API client to use (the emulator's); <see langword="null"/> lets Discovery configure its own.</summary>
    public IKubernetes? ApiClient { get; init; }

    /// <summary>A kubeconfig file for Discovery's own client.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>A kubeconfig context for Discovery's own client.</summary>
    public string? KubeconfigContext { get; init; }

    /// <summary>The namespace of short names; <see langword="null"/> lets Discovery choose (configuration, the pod's own namespace, then <c>default</c>).</summary>
    public string? Namespace { get; init; }

    /// <summary>Connect to pod IPs even outside a cluster (the emulator's "pods" are loopback servers).</summary>
    public bool ConnectToPodIPs { get; init; }

    /// <summary>Configuration overrides, as command-line style <c>key=value</c> pairs (for example <c>Logging:LogLevel:Default=Debug</c>).</summary>
    public IReadOnlyList<string> ConfigurationArgs { get; init; } = [];
}
