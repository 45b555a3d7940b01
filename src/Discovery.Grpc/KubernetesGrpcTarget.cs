namespace Discovery.Grpc;

/// <summary>What a <c>kubernetes:</c> channel address names: a Service, which of its ports, and the <c>:authority</c> to send.</summary>
/// <param name="Service">The Service.</param>
/// <param name="PortName">The port named in the address (<c>:grpc</c>, or a <c>_grpc.</c> label), if any.</param>
/// <param name="Port">The Service port number written in the address (<c>:50051</c>), if any.</param>
/// <param name="Authority">The <c>:authority</c> (Host) of every call: the Service host as written, with a numeric port when one was written.</param>
internal sealed record KubernetesGrpcTarget(ServiceKey Service, string? PortName, int? Port, string Authority);
