using System.Text.Json;
using System.Text.Json.Nodes;

namespace Discovery.Testing.Wire;

/// <summary>
/// The layout of a Kubernetes type as Go's encoding/json writes it: struct keys in declaration
/// order, map keys sorted, omitempty rules. The real server decodes into Go structs and stores
/// protobuf, so what comes back is in this layout whatever order the client wrote.
/// </summary>
internal sealed class JsonShape
{
    private readonly Dictionary<string, ShapeField>? _fieldsByName;

    private JsonShape(ShapeKind kind, IReadOnlyList<ShapeField>? fields, JsonShape? element)
    {
        Kind = kind;
        Fields = fields ?? [];
        Element = element;
        if (fields is not null)
        {
            _fieldsByName = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        }
    }

    /// <summary>A value kept as given.</summary>
    public static JsonShape Any { get; } = new(ShapeKind.Any, null, null);

    /// <summary>What kind of value this is.</summary>
    public ShapeKind Kind { get; }

    /// <summary>The fields of a struct, in Go declaration order.</summary>
    public IReadOnlyList<ShapeField> Fields { get; }

    /// <summary>The element shape of an array or the value shape of a map.</summary>
    public JsonShape? Element { get; }

    /// <summary>A struct with the given fields.</summary>
    public static JsonShape Struct(params ShapeField[] fields) => new(ShapeKind.Struct, fields, null);

    /// <summary>A map whose values have the given shape.</summary>
    public static JsonShape Map(JsonShape? value = null) => new(ShapeKind.Map, null, value ?? Any);

    /// <summary>A slice whose elements have the given shape.</summary>
    public static JsonShape Array(JsonShape? element = null) => new(ShapeKind.Array, null, element ?? Any);

    /// <summary>The field of that name, if this struct declares it.</summary>
    public ShapeField? Field(string name) => _fieldsByName is not null && _fieldsByName.TryGetValue(name, out var f) ? f : null;

    /// <summary>Returns a new node laid out as Go would write it. Unknown struct keys are kept after the known ones.</summary>
    public JsonNode? Canonicalize(JsonNode? node)
    {
        if (node is null)
        {
            return null;
        }

        switch (Kind)
        {
            case ShapeKind.Struct when node is JsonObject obj:
                var result = new JsonObject();
                foreach (var field in Fields)
                {
                    obj.TryGetPropertyValue(field.Name, out var value);
                    var canonical = field.Shape.Canonicalize(value);
                    switch (field.Omit)
                    {
                        case OmitRule.WhenNull when canonical is null:
                        case OmitRule.WhenEmpty when IsEmpty(canonical):
                            continue;
                        case OmitRule.Always when canonical is null || (canonical is JsonArray { Count: 0 } && field.Zero?.Invoke() is null && field.Shape.Kind is ShapeKind.Array or ShapeKind.Map):
                            // Protobuf storage turns empty slices into nil, which Go writes as null.
                            result[field.Name] = field.Zero?.Invoke();
                            continue;
                        default:
                            result[field.Name] = canonical;
                            break;
                    }
                }

                foreach (var (key, value) in obj)
                {
                    if (Field(key) is null)
                    {
                        result[key] = value?.DeepClone();
                    }
                }

                return result;

            case ShapeKind.Map when node is JsonObject map:
                var sorted = new JsonObject();
                foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    sorted[key] = Element!.Canonicalize(value);
                }

                return sorted;

            case ShapeKind.Array when node is JsonArray array:
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(Element!.Canonicalize(item));
                }

                return items;

            default:
                return node.DeepClone();
        }
    }

    private static bool IsEmpty(JsonNode? node) => node switch
    {
        null => true,
        JsonObject o => o.Count == 0,
        JsonArray a => a.Count == 0,
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>().Length == 0,
            JsonValueKind.False => true,
            JsonValueKind.Number => v.ToJsonString() is "0" or "0.0",
            JsonValueKind.Null => true,
            _ => false,
        },
        _ => false,
    };
}
