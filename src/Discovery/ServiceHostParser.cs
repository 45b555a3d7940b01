namespace Discovery;

/// <summary>Decides whether a request host names a Kubernetes Service (BRIEF §2.1), and which.</summary>
public sealed class ServiceHostParser
{
    /// <summary>Creates a parser.</summary>
    /// <param name="defaultNamespace">The namespace of single-label names.</param>
    /// <param name="clusterDomain">The cluster DNS domain, for example <c>cluster.local</c>.</param>
    public ServiceHostParser(string defaultNamespace, string clusterDomain = "cluster.local")
    {
        DefaultNamespace = defaultNamespace;
        ClusterDomain = clusterDomain;
    }

    /// <summary>The namespace of single-label names.</summary>
    public string DefaultNamespace { get; }

    /// <summary>The cluster DNS domain.</summary>
    public string ClusterDomain { get; }

    /// <summary>Parses a host (as in <see cref="Uri.Host"/>; case-insensitive; a trailing dot allowed). Never throws for any input.</summary>
    public ServiceHostParseResult Parse(string host) => throw new NotImplementedException();
}
