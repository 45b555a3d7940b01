namespace Discovery;

/// <summary>Base type of every error discovery reports about a Service; the message names the Service, its namespace and what to do.</summary>
public abstract class DiscoveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected DiscoveryException(ServiceKey service, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Service = service;
    }

    /// <summary>The Service concerned.</summary>
    public ServiceKey Service { get; }

    /// <summary>The namespace concerned.</summary>
    public string Namespace => Service.Namespace;

    /// <summary>The Service name concerned.</summary>
    public string ServiceName => Service.Name;
}
