namespace Discovery.ServiceDiscovery;

/// <summary>Options of the Kubernetes endpoint provider for Microsoft.Extensions.ServiceDiscovery (MESD).</summary>
public sealed class KubernetesServiceEndpointProviderOptions
{
    /// <summary>
    /// When <see langword="true"/>, a single-label name (<c>http://alpaca-prod</c>) that is not a Service in the namespace is
    /// left to the providers after this one (MESD's pass-through provider sends it to DNS unchanged). When
    /// <see langword="false"/> (the default) it fails with <see cref="ServiceNotFoundException"/>, which names the Service,
    /// the namespace and the fix: a silent DNS fallback would hide a typo until production. The <c>svc.ns</c> form always
    /// falls through, as on the HTTP path, because external names such as <c>example.com</c> have that shape too.
    /// </summary>
    public bool PassThroughUnknownServices { get; set; }

    /// <summary>
    /// Whether each endpoint carries MESD's host name feature with the Service name as written (<c>alpaca-prod</c>), so that
    /// MESD's handler sends that as the Host header instead of the pod's address. Default <see langword="true"/>.
    /// </summary>
    public bool ApplyHostName { get; set; } = true;
}
