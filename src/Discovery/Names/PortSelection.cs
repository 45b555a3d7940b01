using System.Collections.Immutable;

namespace Discovery;

/// <summary>The outcome of mapping a request's port (URI port, <c>_name.</c> label, or none) to endpoint ports within one snapshot.</summary>
/// <remarks>Cached by the snapshot: asking twice for the same port returns the same instance, so callers can keep per-target state keyed on it.</remarks>
public sealed class PortSelection
{
    /// <summary>Creates a port selection.</summary>
    internal PortSelection(ServiceEndpointSnapshot snapshot, string portName, int? servicePort, string? appProtocol, ImmutableArray<EndpointTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Snapshot = snapshot;
        PortName = portName;
        ServicePort = servicePort;
        AppProtocol = appProtocol;
        Targets = targets.IsDefault ? [] : targets;
    }

    /// <summary>The snapshot this selection belongs to.</summary>
    public ServiceEndpointSnapshot Snapshot { get; }

    /// <summary>The endpoint port name selected (empty for an unnamed port).</summary>
    public string PortName { get; }

    /// <summary>The Service port number, when known.</summary>
    public int? ServicePort { get; }

    /// <summary>The application protocol of the port (for example <c>kubernetes.io/h2c</c>), if any.</summary>
    public string? AppProtocol { get; }

    /// <summary>The usable endpoints (see <see cref="ServiceEndpointSnapshot.UsableEndpoints"/>) that publish this port, each with its concrete port.</summary>
    public ImmutableArray<EndpointTarget> Targets { get; }
}
