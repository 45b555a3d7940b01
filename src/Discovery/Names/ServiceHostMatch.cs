namespace Discovery;

/// <summary>How a request host relates to Kubernetes Services.</summary>
public enum ServiceHostMatch
{
    /// <summary>Not a Service name (IP literal, <c>localhost</c>, an external DNS name): leave the request untouched.</summary>
    PassThrough,

    /// <summary>A Service name in an unambiguous form (<c>svc</c>, <c>svc.ns.svc</c>, <c>svc.ns.svc.cluster.local</c>).</summary>
    Service,

    /// <summary>The <c>svc.ns</c> form: a Service only if such a Service exists, otherwise pass through to DNS.</summary>
    ServiceIfExists,

    /// <summary>Looks like a Service name but is malformed (not a DNS-1035 label, empty label, bad port label).</summary>
    Invalid,
}
