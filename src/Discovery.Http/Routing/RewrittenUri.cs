namespace Discovery.Http;

/// <summary>The last request URI sent to a destination and its rewritten form, reused when the next request has the same URI.</summary>
/// <remarks>Immutable, replaced whole: RPC-style traffic (gRPC methods, fixed REST paths) then costs no new <see cref="Uri"/> per request.</remarks>
internal sealed class RewrittenUri
{
    public RewrittenUri(Uri originalUri, string original, Uri rewritten)
    {
        OriginalUri = originalUri;
        Original = original;
        Rewritten = rewritten;
    }

    /// <summary>The original URI: a request reusing the same (immutable) instance matches without a string comparison.</summary>
    public Uri OriginalUri { get; }

    /// <summary>The original absolute URI string.</summary>
    public string Original { get; }

    public Uri Rewritten { get; }
}
