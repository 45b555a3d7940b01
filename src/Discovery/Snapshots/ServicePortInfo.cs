namespace Discovery;

/// <summary>A port of a Service (<c>spec.ports[]</c>).</summary>
/// <param name="Name">The port name; empty when the Service has a single unnamed port.</param>
/// <param name="Port">The Service port number (what a URI names).</param>
/// <param name="TargetPort">The target port as written: a number or a pod port name; <see langword="null"/> when omitted (defaults to <paramref name="Port"/>).</param>
/// <param name="Protocol">The IP protocol.</param>
/// <param name="AppProtocol">The application protocol, if set (for example <c>kubernetes.io/h2c</c>).</param>
/// <param name="NodePort">The node port, for NodePort and LoadBalancer Services.</param>
public sealed record ServicePortInfo(string Name, int Port, string? TargetPort, string Protocol, string? AppProtocol, int? NodePort);
