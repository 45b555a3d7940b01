namespace Discovery;

/// <summary>A Service's <c>internalTrafficPolicy</c> or <c>externalTrafficPolicy</c>.</summary>
public enum TrafficPolicy
{
    /// <summary>Every usable endpoint of the Service, wherever it runs (the API's default; also any value this version does not know).</summary>
    Cluster,

    /// <summary>Only endpoints on the caller's own node (internal), or only nodes that host an endpoint (external).</summary>
    Local,
}
