namespace Discovery.Yarp;

/// <summary>
/// The metadata keys the Kubernetes destination resolver sets on each destination it expands from a Service, for YARP
/// transforms, policies and diagnostics (<c>DestinationState.Model.Config.Metadata</c>).
/// </summary>
public static class KubernetesDestinationMetadata
{
    /// <summary>The Service the destination was expanded from, as <c>namespace/name</c>.</summary>
    public const string Service = "kubernetes.service";

    /// <summary>
    /// The <c>appProtocol</c> of the Service port (or endpoint port) the destination is on, when one is published, for example
    /// <c>kubernetes.io/h2c</c>. A cluster whose destinations are all on <c>kubernetes.io/h2c</c> ports over <c>http://</c> is
    /// sent HTTP/2 with prior knowledge (see <see cref="KubernetesDestinationResolverOptions.UseAppProtocol"/>).
    /// </summary>
    public const string AppProtocol = "kubernetes.appProtocol";

    /// <summary>The pod's name, from the endpoint's <c>targetRef</c>, when known.</summary>
    public const string Pod = "kubernetes.pod";

    /// <summary>The endpoint's zone, when known.</summary>
    public const string Zone = "kubernetes.zone";

    /// <summary>The endpoint's node, when known.</summary>
    public const string Node = "kubernetes.node";
}
