namespace Discovery;

/// <summary>The request's port (URI port, <c>_name.</c> label, or none with several ports) matches no port of the Service.</summary>
public sealed class ServicePortNotFoundException : DiscoveryException
{
    /// <summary>Creates the exception.</summary>
    public ServicePortNotFoundException(ServiceKey service, string requested, IReadOnlyList<string> availablePorts)
        : base(service, $"Service '{service.Name}' in namespace '{service.Namespace}' has no port {requested}. Its ports are: {(availablePorts.Count == 0 ? "(none)" : string.Join(", ", availablePorts))}. Name one in the URL as http://_<port-name>.{service.Name}/ or http://{service.Name}:<port>/, or set Discovery:DefaultPortName.")
    {
        Requested = requested;
        AvailablePorts = availablePorts;
    }

    /// <summary>What was asked for, as written in the message (for example <c>named 'grpc'</c> or <c>8081</c>).</summary>
    public string Requested { get; }

    /// <summary>The Service's ports, as <c>name (number)</c>.</summary>
    public IReadOnlyList<string> AvailablePorts { get; }
}
