namespace Discovery.Http;

/// <summary>
/// The route step, first of the handler's pipeline: tells from the request URI whether the request is for a Service, and finds
/// (or parses and caches) its host entry. Takes no lock and allocates nothing for a cached host.
/// </summary>
internal static class RequestRouter
{
    /// <summary>Routes a request to <paramref name="uri"/>; <paramref name="entry"/> is set unless the host is not a Service name at all.</summary>
    public static RequestRoute Route(DiscoveryClient client, Uri? uri, out HostEntry? entry)
    {
        entry = null;

        // IP literals never name a Service; "_port.name" hosts are Basic rather than Dns because of the underscore.
        if (uri is null || !uri.IsAbsoluteUri || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.Basic))
        {
            return RequestRoute.PassThrough;
        }

        entry = client.GetHostEntry(uri.Host);
        switch (entry.Match)
        {
            case ServiceHostMatch.PassThrough:
                return RequestRoute.PassThrough;
            case ServiceHostMatch.ServiceIfExists when entry.OutsideAllowedNamespaces:
                return RequestRoute.AbsoluteName;
            case ServiceHostMatch.ServiceIfExists when entry.PassesThrough(client.GetTimestamp()):
                // "name.namespace" recently found not to be a Service this app can use: DNS decides for a while.
                return RequestRoute.PassThrough;
            default:
                return RequestRoute.Service;
        }
    }
}
