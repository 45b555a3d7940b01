namespace Discovery.Http;

/// <summary>Where the route step sends a request (see <see cref="RequestRouter"/>).</summary>
internal enum RequestRoute
{
    /// <summary>Not a Service host (an IP literal, <c>localhost</c>, an external name): sent as written.</summary>
    PassThrough,

    /// <summary>A <c>svc.ns</c> host whose namespace is outside the allow-list: sent to DNS as the absolute name <c>svc.ns.</c>.</summary>
    AbsoluteName,

    /// <summary>A Service host (or one that may be): through the snapshot, pick, rewrite and send steps.</summary>
    Service,
}
