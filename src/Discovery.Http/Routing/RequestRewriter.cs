using System.Globalization;

namespace Discovery.Http;

/// <summary>
/// The rewrite step: points a request at its destination (<c>scheme://pod-ip:port/path?query</c>), keeps the host as written in
/// the Host header, and switches to HTTP/2 without TLS for <c>appProtocol: kubernetes.io/h2c</c> ports.
/// <see cref="ServiceRequest.Restore"/> undoes all of it.
/// </summary>
internal static class RequestRewriter
{
    private const string H2cAppProtocol = "kubernetes.io/h2c";

    // The path and query come from an already canonical Uri: parsing them again would only cost time.
    private static readonly UriCreationOptions RewrittenUriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>Points the message at the request's destination, keeping the original host for the server.</summary>
    public static void PointAtDestination(DiscoveryClient client, ref ServiceRequest request)
    {
        var message = request.Message;
        var originalUri = request.OriginalUri;
        message.RequestUri = Rewrite(originalUri, request.Destination);
        if (request.SetsHost)
        {
            // The typed setter: SocketsHttpHandler reads the header back (for the request line, and as the TLS host name), which
            // would turn a raw value into a parsed one anyway, at the same cost.
            message.Headers.Host = request.Entry.GetHostHeader(originalUri);
        }

        if (client.Options.UseAppProtocol && IsH2c(request.Set.Selection, originalUri))
        {
            message.Version = System.Net.HttpVersion.Version20;
            message.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
    }

    /// <summary>
    /// The URI of a <c>svc.ns</c> host outside the allow-list as an absolute DNS name (<c>svc.ns.</c>), which the pod's DNS search
    /// list never expands, so that only a real external name resolves.
    /// </summary>
    public static Uri ToAbsoluteName(Uri originalUri, HostEntry entry)
    {
        var port = originalUri.IsDefaultPort ? string.Empty : ":" + originalUri.Port.ToString(CultureInfo.InvariantCulture);
        return WithAuthority(originalUri, originalUri.AbsoluteUri, entry.Host + "." + port);
    }

    /// <summary>The URI for <paramref name="destination"/>, reused while the destination's last request had the same URI.</summary>
    private static Uri Rewrite(Uri original, DestinationState destination)
    {
        var last = destination.LastRewrite;
        if (last is not null && ReferenceEquals(last.OriginalUri, original))
        {
            return last.Rewritten;
        }

        var absolute = original.AbsoluteUri;
        if (last is not null && string.Equals(last.Original, absolute, StringComparison.Ordinal))
        {
            return last.Rewritten;
        }

        var rewritten = WithAuthority(original, absolute, destination.Authority);
        destination.LastRewrite = new RewrittenUri(original, absolute, rewritten);
        return rewritten;
    }

    /// <summary>The URI with its authority replaced, keeping scheme, path and query (<paramref name="absolute"/> is its AbsoluteUri).</summary>
    private static Uri WithAuthority(Uri original, string absolute, string authority)
    {
        var scheme = original.Scheme;
        var pathStart = absolute.IndexOf('/', scheme.Length + 3);
        var pathAndQuery = pathStart < 0 ? "/".AsSpan() : absolute.AsSpan(pathStart);
        return new Uri(string.Concat(scheme.AsSpan(), "://".AsSpan(), authority.AsSpan(), pathAndQuery), RewrittenUriOptions);
    }

    private static bool IsH2c(PortSelection selection, Uri uri)
        => string.Equals(uri.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase)
        && string.Equals(selection.AppProtocol, H2cAppProtocol, StringComparison.OrdinalIgnoreCase);
}
