using System.Globalization;
using System.Text.Json.Nodes;

namespace Discovery.Testing.Wire;

/// <summary>RFC 6902 JSON patch (add, remove, replace, move, copy, test).</summary>
internal static class JsonPatch
{
    /// <summary>Applies the operations to <paramref name="document"/> in place.</summary>
    /// <exception cref="JsonPatchException">An operation is malformed or does not apply.</exception>
    public static JsonNode Apply(JsonNode document, JsonNode? patch)
    {
        if (patch is not JsonArray operations)
        {
            throw new JsonPatchException("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
        }

        var root = new JsonObject { ["doc"] = document.Parent is null ? document : document.DeepClone() };
        foreach (var operation in operations)
        {
            if (operation is not JsonObject op)
            {
                throw new JsonPatchException("invalid JSON patch operation");
            }

            var kind = op["op"]?.GetValue<string>() ?? throw new JsonPatchException("missing op");
            var path = op["path"]?.GetValue<string>() ?? throw new JsonPatchException($"missing path in {kind} operation");
            switch (kind)
            {
                case "add":
                    Add(root, path, Value(op, kind));
                    break;
                case "remove":
                    Remove(root, path, kind);
                    break;
                case "replace":
                    Remove(root, path, kind);
                    Add(root, path, Value(op, kind));
                    break;
                case "move":
                    var moved = Remove(root, From(op, kind), kind);
                    Add(root, path, moved);
                    break;
                case "copy":
                    Add(root, path, Get(root, From(op, kind), kind)?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(root, path, kind), op["value"]))
                    {
                        throw new JsonPatchException($"testing value {path} failed: test failed");
                    }

                    break;
                default:
                    throw new JsonPatchException($"Unexpected kind: {kind}");
            }
        }

        var result = root["doc"]!;
        root.Remove("doc");
        return result;
    }

    private static JsonNode? Value(JsonObject op, string kind) =>
        op.TryGetPropertyValue("value", out var value) ? value?.DeepClone() : throw new JsonPatchException($"missing value in {kind} operation");

    private static string From(JsonObject op, string kind) => op["from"]?.GetValue<string>() ?? throw new JsonPatchException($"missing from in {kind} operation");

    private static (JsonNode Parent, string Token) Locate(JsonObject root, string path, string kind)
    {
        if (path.Length > 0 && path[0] != '/')
        {
            throw new JsonPatchException($"{kind} operation does not apply: doc is missing path: \"{path}\"");
        }

        var tokens = ("/doc" + path).Split('/').Skip(1).Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
        JsonNode current = root;
        for (var i = 0; i < tokens.Length - 1; i++)
        {
            current = Child(current, tokens[i]) ?? throw new JsonPatchException($"{kind} operation does not apply: doc is missing path: \"{path}\"");
        }

        return (current, tokens[^1]);
    }

    private static JsonNode? Child(JsonNode node, string token) => node switch
    {
        JsonObject o => o[token],
        JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
        _ => null,
    };

    private static JsonNode? Get(JsonObject root, string path, string kind)
    {
        var (parent, token) = Locate(root, path, kind);
        return Child(parent, token);
    }

    private static void Add(JsonObject root, string path, JsonNode? value)
    {
        var (parent, token) = Locate(root, path, "add");
        switch (parent)
        {
            case JsonObject o:
                o[token] = value;
                break;
            case JsonArray a when token == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new JsonPatchException($"add operation does not apply: doc is missing path: \"{path}\"");
        }
    }

    private static JsonNode? Remove(JsonObject root, string path, string kind)
    {
        var (parent, token) = Locate(root, path, kind);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(token):
                var value = o[token];
                o.Remove(token);
                return value;
            case JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                var item = a[i];
                a.RemoveAt(i);
                return item;
            default:
                throw new JsonPatchException($"{kind} operation does not apply: doc is missing path: \"{path}\"");
        }
    }
}
