using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Discovery.Testing.Wire;

/// <summary>Serialises JSON the way the API server writes it.</summary>
internal static class WireJson
{
    // Go writes quotes as \" and non-ASCII as UTF-8; the default .NET encoder would write \u0022.
    private static readonly JsonWriterOptions CompactOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    private static readonly JsonWriterOptions PrettyOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = true,
#if NET9_0_OR_GREATER
        NewLine = "\n",
        IndentSize = 2,
#endif
    };

    /// <summary>Options for parsing request bodies.</summary>
    public static JsonNodeOptions NodeOptions { get; } = new() { PropertyNameCaseInsensitive = false };

    /// <summary>Document options: bounded depth, no comments or trailing commas (Go rejects both).</summary>
    public static JsonDocumentOptions DocumentOptions { get; } = new() { MaxDepth = 100, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Compact JSON without a trailing newline.</summary>
    public static byte[] Serialize(JsonNode node)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, CompactOptions))
        {
            node.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Re-indents compact JSON with two spaces, as Go's json.Indent does.</summary>
    public static byte[] Indent(ReadOnlyMemory<byte> compact)
    {
        using var document = JsonDocument.Parse(compact, DocumentOptions);
        var buffer = new ArrayBufferWriter<byte>(compact.Length * 2);
        using (var writer = new Utf8JsonWriter(buffer, PrettyOptions))
        {
            document.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
