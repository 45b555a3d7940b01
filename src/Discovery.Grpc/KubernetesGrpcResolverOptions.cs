namespace Discovery.Grpc;

/// <summary>Settings of the <c>kubernetes:</c> resolver, bound from the configuration section <c>Discovery:Grpc</c>.</summary>
public sealed class KubernetesGrpcResolverOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Discovery:Grpc";

    /// <summary>
    /// How long a channel waits after a discovery failure (API unreachable before the first sync, watcher limit reached) before it
    /// asks again, doubling up to <see cref="MaxRetryDelay"/>. A snapshot arriving in the meantime is published at once. Default 1 second.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two attempts after failures. Default 30 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The port name used when an address names no port and the Service has several: after a port named <c>grpc</c>, this one
    /// (default: <see cref="KubernetesDiscoveryOptions.DefaultPortName"/>).
    /// </summary>
    public string? DefaultPortName { get; set; }
}
