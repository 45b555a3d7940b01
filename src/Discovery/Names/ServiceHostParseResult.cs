namespace Discovery;

/// <summary>The outcome of parsing a request host with <see cref="ServiceHostParser"/>.</summary>
/// <param name="Match">Whether, and how, the host names a Service.</param>
/// <param name="Service">
/// The Service, when <paramref name="Match"/> is <see cref="ServiceHostMatch.Service"/> or <see cref="ServiceHostMatch.ServiceIfExists"/>;
/// for <see cref="ServiceHostMatch.Invalid"/> the best-effort reading of the malformed host (namespace and name, possibly
/// empty; never to be looked up); for <see cref="ServiceHostMatch.PassThrough"/> empty strings. Never nulls.
/// </param>
/// <param name="PortName">The port name from a leading <c>_name.</c> label, if any.</param>
/// <param name="Error">Why the host is malformed, when <paramref name="Match"/> is <see cref="ServiceHostMatch.Invalid"/>.</param>
public readonly record struct ServiceHostParseResult(ServiceHostMatch Match, ServiceKey Service, string? PortName, string? Error);
