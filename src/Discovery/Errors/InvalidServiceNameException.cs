namespace Discovery;

/// <summary>A host looks like a Service name but is malformed.</summary>
public sealed class InvalidServiceNameException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public InvalidServiceNameException(string host, string reason, ServiceKey service = default)
        : base(service, $"'{host}' is not a valid Kubernetes Service host: {reason}. Service and namespace names are DNS-1035 labels: lower-case letters, digits and '-', starting with a letter, at most 63 characters.")
    {
        Host = host;
        Reason = reason;
    }

    /// <summary>The host as written.</summary>
    public string Host { get; }

    /// <summary>Why it is invalid.</summary>
    public string Reason { get; }
}
