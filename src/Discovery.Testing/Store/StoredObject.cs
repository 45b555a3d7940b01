using System.Text.Json.Nodes;
using Discovery.Testing.Wire;

namespace Discovery.Testing.Store;

/// <summary>One stored object: an immutable canonical JSON tree plus its serialised form, made once per write.</summary>
internal sealed class StoredObject
{
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();

    private StoredObject(ResourceType type, JsonObject node, byte[] json)
    {
        Type = type;
        Node = node;
        Json = json;
        var metadata = node["metadata"] as JsonObject;
        Name = metadata?["name"]?.GetValue<string>() ?? "";
        Namespace = metadata?["namespace"]?.GetValue<string>() ?? "";
        Uid = metadata?["uid"]?.GetValue<string>() ?? "";
        ResourceVersion = long.TryParse(metadata?["resourceVersion"]?.GetValue<string>(), out var rv) ? rv : 0;
        Key = type.Namespaced ? Namespace + "/" + Name : Name;
        if (metadata?["labels"] is JsonObject labels && labels.Count > 0)
        {
            var map = new Dictionary<string, string>(labels.Count, StringComparer.Ordinal);
            foreach (var (key, value) in labels)
            {
                map[key] = value?.GetValue<string>() ?? "";
            }

            Labels = map;
        }
        else
        {
            Labels = NoLabels;
        }
    }

    public ResourceType Type { get; }

    /// <summary>The canonical object with kind and apiVersion. Never mutated: clone before changing.</summary>
    public JsonObject Node { get; }

    /// <summary>Compact JSON of <see cref="Node"/>, starting with <see cref="ResourceType.TypeMetaPrefix"/>.</summary>
    public byte[] Json { get; }

    public string Name { get; }

    public string Namespace { get; }

    public string Uid { get; }

    public long ResourceVersion { get; }

    /// <summary>The etcd-style key the server sorts and pages by: <c>namespace/name</c>, or <c>name</c> for cluster-scoped kinds.</summary>
    public string Key { get; }

    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary>The JSON of a list item: the object without kind and apiVersion, minus its leading '{'.</summary>
    public ReadOnlyMemory<byte> ItemTail => Json.AsMemory(Type.TypeMetaPrefix.Length);

    /// <summary>Wraps an already canonical node (kind, apiVersion, metadata first).</summary>
    public static StoredObject FromCanonical(ResourceType type, JsonObject canonical)
    {
        var json = WireJson.Serialize(canonical);
        if (!json.AsSpan().StartsWith(type.TypeMetaPrefix))
        {
            throw new InvalidOperationException($"Canonical {type.Kind} does not start with its kind and apiVersion.");
        }

        return new StoredObject(type, canonical, json);
    }

    /// <summary>A copy of this object stamped with another resourceVersion (a deletion's).</summary>
    public StoredObject WithResourceVersion(long resourceVersion)
    {
        var node = (JsonObject)Node.DeepClone();
        ((JsonObject)node["metadata"]!)["resourceVersion"] = resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return FromCanonical(Type, node);
    }
}
