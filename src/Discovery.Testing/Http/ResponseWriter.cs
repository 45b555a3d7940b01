using System.Text.Json.Nodes;
using Discovery.Testing.Wire;
using Microsoft.AspNetCore.Http;

namespace Discovery.Testing.Http;

/// <summary>Writes responses with the API server's headers and body framing.</summary>
internal static class ResponseWriter
{
    /// <summary>Go's net/http sends Content-Length for bodies written in one go below this size, chunked above.</summary>
    private const int ContentLengthThreshold = 2048;
    private static readonly byte[] Newline = "\n"u8.ToArray();

    // Fixed per process, like a server's flow-control configuration objects.
    private static readonly string FlowSchemaUid = Guid.NewGuid().ToString();
    private static readonly string PriorityLevelUid = Guid.NewGuid().ToString();

    /// <summary>Sets the headers every API response carries.</summary>
    public static void SetHeaders(HttpResponse response, int statusCode)
    {
        response.StatusCode = statusCode;
        response.Headers["Audit-Id"] = Guid.NewGuid().ToString();
        response.Headers.CacheControl = "no-cache, private";
        response.ContentType = "application/json";
        if (statusCode == 403)
        {
            response.Headers["X-Content-Type-Options"] = "nosniff";
        }

        // Authentication fails before flow control, so 401s have no priority-and-fairness headers.
        if (statusCode != 401)
        {
            response.Headers["X-Kubernetes-Pf-Flowschema-Uid"] = FlowSchemaUid;
            response.Headers["X-Kubernetes-Pf-Prioritylevel-Uid"] = PriorityLevelUid;
        }
    }

    /// <summary>Writes a compact JSON body plus newline, or the indented form without one.</summary>
    public static Task WriteBodyAsync(HttpContext context, int statusCode, ReadOnlyMemory<byte> compactJson, bool pretty)
    {
        SetHeaders(context.Response, statusCode);
        if (pretty)
        {
            var indented = WireJson.Indent(compactJson);
            return WriteAsync(context, indented, ReadOnlyMemory<byte>.Empty);
        }

        return WriteAsync(context, compactJson, Newline);
    }

    public static Task WriteNodeAsync(HttpContext context, int statusCode, JsonNode node, bool pretty) =>
        WriteBodyAsync(context, statusCode, WireJson.Serialize(node), pretty);

    public static Task WriteErrorAsync(HttpContext context, ApiException error, bool pretty) =>
        WriteNodeAsync(context, error.StatusCode, error.Status, pretty);

    /// <summary>Whether the client gets indented JSON: <c>?pretty=true</c>, or a browser/curl/wget user agent without <c>pretty=false</c>.</summary>
    public static bool IsPretty(HttpRequest request)
    {
        var pretty = request.Query["pretty"];
        if (pretty.Count > 0)
        {
            return pretty[0] is "1" or "t" or "T" or "true" or "TRUE" or "True";
        }

        var userAgent = request.Headers.UserAgent.ToString();
        return userAgent.StartsWith("curl", StringComparison.Ordinal)
            || userAgent.StartsWith("Wget", StringComparison.Ordinal)
            || userAgent.StartsWith("Mozilla/5.0", StringComparison.Ordinal);
    }

    private static async Task WriteAsync(HttpContext context, ReadOnlyMemory<byte> body, ReadOnlyMemory<byte> suffix)
    {
        var length = body.Length + suffix.Length;
        if (length < ContentLengthThreshold)
        {
            context.Response.ContentLength = length;
        }

        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        if (!suffix.IsEmpty)
        {
            await context.Response.Body.WriteAsync(suffix, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
