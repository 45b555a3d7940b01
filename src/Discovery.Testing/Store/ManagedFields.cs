using System.Text.Json.Nodes;
using Discovery.Testing.Wire;

namespace Discovery.Testing.Store;

/// <summary>
/// An approximation of server-side field tracking: the set of fields a write set, in the FieldsV1
/// format. Lists are atomic except Service ports, which are keyed by port and protocol.
/// </summary>
internal static class ManagedFields
{
    private static readonly HashSet<string> TrackedMetadata = ["generateName", "labels", "annotations", "ownerReferences", "finalizers"];

    public static JsonObject Entry(string manager, string apiVersion, string time, JsonObject fields) => new()
    {
        ["manager"] = manager,
        ["operation"] = "Update",
        ["apiVersion"] = apiVersion,
        ["time"] = time,
        ["fieldsType"] = "FieldsV1",
        ["fieldsV1"] = fields,
    };

    public static JsonObject Compute(ResourceType type, JsonObject node)
    {
        var result = new JsonObject();
        foreach (var (key, value) in node.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key is "kind" or "apiVersion" or "status" || value is null)
            {
                continue;
            }

            if (key == "metadata" && value is JsonObject metadata)
            {
                var meta = new JsonObject();
                foreach (var (metaKey, metaValue) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (TrackedMetadata.Contains(metaKey) && metaValue is not null)
                    {
                        meta["f:" + metaKey] = metaValue is JsonObject map ? MapFields(map) : new JsonObject();
                    }
                }

                if (meta.Count > 0)
                {
                    result["f:metadata"] = meta;
                }

                continue;
            }

            result["f:" + key] = type == ResourceTypes.Services && key == "spec" && value is JsonObject spec ? ServiceSpec(spec) : Fields(value, type.Shape.Field(key)?.Shape);
        }

        return result;
    }

    private static JsonObject Fields(JsonNode value, JsonShape? shape)
    {
        if (value is not JsonObject obj || shape?.Kind != ShapeKind.Struct)
        {
            return shape?.Kind == ShapeKind.Map && value is JsonObject map ? MapFields(map) : [];
        }

        var result = new JsonObject();
        foreach (var (key, child) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (child is not null)
            {
                result["f:" + key] = Fields(child, shape.Field(key)?.Shape);
            }
        }

        return result;
    }

    private static JsonObject MapFields(JsonObject map)
    {
        var result = new JsonObject { ["."] = new JsonObject() };
        foreach (var (key, _) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            result["f:" + key] = new JsonObject();
        }

        return result;
    }

    private static JsonObject ServiceSpec(JsonObject spec)
    {
        var result = new JsonObject();
        foreach (var (key, value) in spec.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (value is null || key is "clusterIPs" or "ipFamilies" or "ipFamilyPolicy" || (key == "clusterIP" && value.ToString() != "None"))
            {
                continue;
            }

            if (key == "ports" && value is JsonArray ports)
            {
                var keyed = new JsonObject { ["."] = new JsonObject() };
                foreach (var port in ports.OfType<JsonObject>())
                {
                    var entry = new JsonObject { ["."] = new JsonObject() };
                    foreach (var (portKey, _) in port.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        entry["f:" + portKey] = new JsonObject();
                    }

                    keyed[$"k:{{\"port\":{port["port"]?.ToJsonString()},\"protocol\":{port["protocol"]?.ToJsonString()}}}"] = entry;
                }

                result["f:ports"] = keyed;
            }
            else
            {
                result["f:" + key] = new JsonObject();
            }
        }

        return result;
    }
}
