using System.Buffers;
using System.Text.Json;
using System.Text.Encodings.Web;

namespace Discovery.Testing.Wire;

/// <summary>
/// The API server's paging token: unpadded base64url of
/// <c>{"v":"meta.k8s.io/v1","rv":&lt;page-1 revision&gt;,"start":"&lt;last key&gt;\u0000"}</c>.
/// </summary>
internal readonly record struct ContinueToken(long ResourceVersion, string StartKey)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The token continuing after <paramref name="lastKey"/>.</summary>
    public static ContinueToken After(long resourceVersion, string lastKey) => new(resourceVersion, lastKey + "\0");

    public string Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("v", "meta.k8s.io/v1");
            writer.WriteNumber("rv", ResourceVersion);
            writer.WriteString("start", StartKey);
            writer.WriteEndObject();
        }

        return Convert.ToBase64String(buffer.WrittenSpan).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Decodes a token; null when it is not one this server issued.</summary>
    public static ContinueToken? TryDecode(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var bytes = Convert.FromBase64String(base64);
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.String || v.GetString() != "meta.k8s.io/v1"
                || !root.TryGetProperty("rv", out var rv) || !rv.TryGetInt64(out var revision)
                || !root.TryGetProperty("start", out var start) || start.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            return new ContinueToken(revision, start.GetString()!);
        }
        catch (FormatException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The key to resume from: the stored start key minus the trailing NUL that makes it exclusive.</summary>
    public string StartAfter => StartKey.EndsWith('\0') ? StartKey[..^1] : StartKey;

    /// <summary>Whether the start key is exclusive of the named key itself.</summary>
    public bool IsExclusive => StartKey.EndsWith('\0');
}
