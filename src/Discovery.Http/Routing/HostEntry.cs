namespace Discovery.Http;

/// <summary>A request host, parsed once, with the balancer last used for it so that the request path skips a dictionary lookup.</summary>
internal sealed class HostEntry
{
    private volatile ServicePortBalancer? _lastBalancer;
    private volatile Tuple<int, string>? _hostHeaderWithPort;
    private volatile PortRoute? _lastRoute;
    private volatile ServiceEndpointSnapshot? _heldSnapshot;
    private long _heldSnapshotDue;
    private long _passThroughUntil;
    private volatile bool _outsideAllowedNamespaces;
    private UsageMark _usage;

    public HostEntry(string host, ServiceHostParseResult parse, long now)
    {
        _usage = new UsageMark(now);
        Host = host;
        Parse = parse;
        HostHeader = parse.PortName is null ? host : StripPortLabel(host);
    }

    public string Host { get; }

    public ServiceHostParseResult Parse { get; }

    public ServiceHostMatch Match => Parse.Match;

    public ServiceKey Service => Parse.Service;

    /// <summary>The host the server sees: as written, without a leading <c>_port.</c> label.</summary>
    public string HostHeader { get; }

    public ServicePortBalancer? LastBalancer
    {
        get => _lastBalancer;
        set => _lastBalancer = value;
    }

    /// <summary>The port selection last made for this host, reused while the snapshot, URI port and scheme are the same.</summary>
    public PortRoute? LastRoute
    {
        get => _lastRoute;
        set => _lastRoute = value;
    }

    /// <summary>
    /// The snapshot last looked up for this host while it is still current (not <see cref="ServiceEndpointSnapshot.IsSuperseded"/>)
    /// and not yet due for the next lookup, which also tells the resolver the Service is still in use; otherwise null.
    /// </summary>
    /// <remarks>
    /// Two requests may hold different answers one after the other, so an older one can be left held; it is then already
    /// superseded (it was replaced before the newer answer was read), and the next request looks up again.
    /// </remarks>
    public ServiceEndpointSnapshot? GetHeldSnapshot(long now)
    {
        var snapshot = _heldSnapshot;
        return snapshot is not null && !snapshot.IsSuperseded && now < Volatile.Read(ref _heldSnapshotDue) ? snapshot : null;
    }

    /// <summary>Holds <paramref name="snapshot"/> until it is superseded or <paramref name="due"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void HoldSnapshot(ServiceEndpointSnapshot snapshot, long due)
    {
        Volatile.Write(ref _heldSnapshotDue, due);
        _heldSnapshot = snapshot;
    }

    /// <summary>The Host header for a request to <paramref name="uri"/>, cached for the last explicit port used.</summary>
    public string GetHostHeader(Uri uri)
    {
        if (uri.IsDefaultPort)
        {
            return HostHeader;
        }

        var port = uri.Port;
        var cached = _hostHeaderWithPort;
        if (cached is not null && cached.Item1 == port)
        {
            return cached.Item2;
        }

        var header = HostHeader + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _hostHeaderWithPort = Tuple.Create(port, header);
        return header;
    }

    /// <summary>Marks the entry used, so that the idle sweep keeps it.</summary>
    public void Touch() => _usage.Touch();

    /// <summary>Called by the idle sweep only (see <see cref="UsageMark.IsIdle"/>).</summary>
    public bool IsIdle(long now, TimeSpan idleTimeout, TimeProvider timeProvider) => _usage.IsIdle(now, idleTimeout, timeProvider);

    /// <summary>Whether a <c>svc.ns</c> host was recently found not to be a Service we may use, so it goes to DNS.</summary>
    public bool PassesThrough(long now) => now < Volatile.Read(ref _passThroughUntil);

    public void PassThroughUntil(long timestamp) => Volatile.Write(ref _passThroughUntil, timestamp);

    /// <summary>Whether this <c>svc.ns</c> host names a namespace outside the allow-list, so it may only reach DNS as an absolute name.</summary>
    public bool OutsideAllowedNamespaces
    {
        get => _outsideAllowedNamespaces;
        set => _outsideAllowedNamespaces = value;
    }

    private static string StripPortLabel(string host)
    {
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? host : host[(dot + 1)..];
    }

    /// <summary>One answer of <see cref="ServiceEndpointSnapshot.SelectPort"/> for this host (whose port name is fixed), replaced whole.</summary>
    internal sealed class PortRoute(ServiceEndpointSnapshot snapshot, int? uriPort, string scheme, PortSelection selection)
    {
        public PortSelection Selection { get; } = selection;

        public bool Matches(ServiceEndpointSnapshot current, int? port, string requestScheme)
            => ReferenceEquals(current, snapshot)
            && port == uriPort
            && (ReferenceEquals(requestScheme, scheme) || string.Equals(requestScheme, scheme, StringComparison.OrdinalIgnoreCase));
    }
}
