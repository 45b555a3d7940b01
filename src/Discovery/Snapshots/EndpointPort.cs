namespace Discovery;

/// <summary>A port an endpoint listens on: the pod's target port as published in an EndpointSlice or Endpoints object.</summary>
/// <param name="Name">The port name (the Service port's name); empty for an unnamed single port.</param>
/// <param name="Port">The port number on the endpoint.</param>
/// <param name="Protocol">The IP protocol (<c>TCP</c>, <c>UDP</c>, <c>SCTP</c>).</param>
/// <param name="AppProtocol">The application protocol (for example <c>kubernetes.io/h2c</c>), if published.</param>
public readonly record struct EndpointPort(string Name, int Port, string Protocol, string? AppProtocol);
