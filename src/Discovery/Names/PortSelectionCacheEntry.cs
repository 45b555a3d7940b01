namespace Discovery;

/// <summary>One remembered answer of <see cref="ServiceEndpointSnapshot.SelectPort"/>, compared without allocating.</summary>
internal sealed class PortSelectionCacheEntry(int? uriPort, string? portName, string scheme, string? defaultPortName, PortSelection selection)
{
    public PortSelection Selection { get; } = selection;

    public bool Matches(int? uri, string? name, string requestScheme, string? defaultName)
        => uri == uriPort
            && string.Equals(name, portName, StringComparison.Ordinal)
            && string.Equals(requestScheme, scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(defaultName, defaultPortName, StringComparison.Ordinal);
}
