using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Discovery.Testing.Store;
using Discovery.Testing.Wire;
using Microsoft.AspNetCore.Http;

namespace Discovery.Testing.Http;

/// <summary>Reads and decodes a write request's body the way the API server does: size limit, media type, JSON, field validation.</summary>
internal static class RequestBody
{
    /// <summary>Decodes a body, applying <c>fieldValidation</c>: Strict rejects unknown fields with 400, Warn answers with Warning headers.</summary>
    internal static JsonObject DecodeWithFieldValidation(HttpContext context, ResourceType type, JsonNode? body)
    {
        var mode = context.Request.Query["fieldValidation"].ToString();
        if (mode.Length > 0 && mode is not ("Strict" or "Warn" or "Ignore"))
        {
            throw StatusBodies.BadRequest($"fieldValidation: Unsupported value: \"{mode}\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
        }

        var unknown = mode is "Strict" or "Warn" ? new List<string>() : null;
        var node = ObjectPipeline.Decode(type, body, unknown);
        if (unknown is { Count: > 0 })
        {
            if (mode == "Strict")
            {
                throw StatusBodies.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(f => $"unknown field \"{f}\"")));
            }

            context.Response.Headers.Append("Warning", unknown.Select(f => $"299 - \"unknown field \\\"{f}\\\"\"").ToArray());
        }

        return node;
    }

    internal static string Manager(HttpRequest request)
    {
        var fieldManager = request.Query["fieldManager"].ToString();
        if (fieldManager.Length > 0)
        {
            return fieldManager;
        }

        // The real server names the manager after the User-Agent's product ("kubernetes-csharp").
        return request.Headers.UserAgent.ToString().Split('/')[0];
    }

    internal static async Task<JsonNode?> ReadJsonAsync(HttpContext context, long limit, bool patchTypes, bool allowEmpty = false)
    {
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            throw StatusBodies.RequestEntityTooLarge(limit);
        }

        if (!patchTypes)
        {
            var mediaType = (request.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
            if (mediaType is not ("application/json" or "" or "*/*"))
            {
                throw new ApiException(415, StatusBodies.Failure(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf", null));
            }
        }

        var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw StatusBodies.RequestEntityTooLarge(limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        if (buffer.Length == 0)
        {
            if (allowEmpty)
            {
                return null;
            }

            throw StatusBodies.BadRequest("the request body is empty; a JSON object is required");
        }

        try
        {
            return JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), WireJson.NodeOptions, WireJson.DocumentOptions);
        }
        catch (JsonException e)
        {
            throw StatusBodies.BadRequest($"couldn't get version/kind; json parse error: {e.Message}");
        }
    }
}
