namespace Discovery.ServiceDiscovery;

/// <summary>The <see cref="IKubernetesAppProtocolFeature"/> of one resolution: shared by its endpoints, which are on one port.</summary>
internal sealed class AppProtocolFeature(string appProtocol, bool requiresHttp2PriorKnowledge) : IKubernetesAppProtocolFeature
{
    internal const string H2c = "kubernetes.io/h2c";

    public string AppProtocol { get; } = appProtocol;

    public bool RequiresHttp2PriorKnowledge { get; } = requiresHttp2PriorKnowledge;

    /// <summary>The feature for a port, or <see langword="null"/> when it publishes no appProtocol.</summary>
    /// <param name="appProtocol">The port's appProtocol.</param>
    /// <param name="scheme">The scheme the endpoints are given (none: the caller's, <c>http</c> for MESD's usual queries).</param>
    public static AppProtocolFeature? For(string? appProtocol, string? scheme)
        => appProtocol is null ? null : new AppProtocolFeature(
            appProtocol,
            string.Equals(appProtocol, H2c, StringComparison.OrdinalIgnoreCase) && (scheme is null || string.Equals(scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase)));
}
