using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Discovery.Testing.Http;
using Discovery.Testing.Validation;
using k8s;
using k8s.Models;

namespace Discovery.Testing.Store;

/// <summary>
/// Turns a client's object into what the server stores: decoded through the typed model (which
/// drops unknown fields and rejects wrong types, as Go's decoder does), defaulted, stamped with
/// server-owned metadata, validated and laid out in Go field order.
/// </summary>
internal sealed class ObjectPipeline
{
    private const string GenerateNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    private readonly TimeProvider _time;
    private readonly bool _allowLoopback;
    private readonly Func<int, int> _randomIndex;
    private int _nextClusterIp = 10;
    private int _nextNodePort = 30000;

    /// <param name="time">The clock of creation timestamps.</param>
    /// <param name="allowLoopback">Whether endpoint addresses may be loopback addresses.</param>
    /// <param name="randomIndex">
    /// A uniform index in [0, n) for the characters of generateName suffixes (the randomness seam a test can fix); a
    /// cryptographic source when null.
    /// </param>
    public ObjectPipeline(TimeProvider time, bool allowLoopback, Func<int, int>? randomIndex = null)
    {
        _time = time;
        _allowLoopback = allowLoopback;
        _randomIndex = randomIndex ?? RandomNumberGenerator.GetInt32;
    }

    /// <summary>Checks kind/apiVersion and round-trips the body through the typed model.</summary>
    /// <exception cref="ApiException">400 for a wrong kind, version or field type.</exception>
    public static JsonObject Decode(ResourceType type, JsonNode? body) => Decode(type, body, null);

    /// <summary>
    /// Decodes like <see cref="Decode(ResourceType, JsonNode?)"/> and collects the fields the model
    /// does not know (which the real server drops, or rejects with <c>fieldValidation=Strict</c>).
    /// </summary>
    public static JsonObject Decode(ResourceType type, JsonNode? body, List<string>? unknownFields)
    {
        if (body is not JsonObject obj)
        {
            throw StatusBodies.BadRequest($"{type.Kind} in version \"v1\" cannot be handled as a {type.Kind}: json: cannot unmarshal {JsonKind(body)} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}");
        }

        var apiVersion = obj["apiVersion"] is JsonValue av && av.GetValueKind() == JsonValueKind.String ? av.GetValue<string>() : null;
        var kind = obj["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : null;
        if (!string.IsNullOrEmpty(apiVersion) && apiVersion != type.ApiVersion)
        {
            throw StatusBodies.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({type.ApiVersion})");
        }

        if (!string.IsNullOrEmpty(kind) && kind != type.Kind)
        {
            throw StatusBodies.BadRequest($"{kind} in version \"v1\" cannot be handled as a {type.Kind}: the object provided is unrecognized (must be of type {type.Kind})");
        }

        try
        {
            var model = Deserialize(type, obj);
            var node = JsonNode.Parse(KubernetesJson.Serialize(model)) as JsonObject ?? [];
            node["kind"] = type.Kind;
            node["apiVersion"] = type.ApiVersion;
            if (unknownFields is not null)
            {
                CollectUnknown(obj, node, "", unknownFields);
            }

            return node;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or OverflowException or ArgumentException)
        {
            throw StatusBodies.BadRequest($"{type.Kind} in version \"v1\" cannot be handled as a {type.Kind}: {e.Message}");
        }
    }

    private static void CollectUnknown(JsonNode given, JsonNode? kept, string path, List<string> unknown)
    {
        switch (given)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (value is null)
                    {
                        continue;
                    }

                    var child = path.Length == 0 ? key : path + "." + key;
                    if (kept is not JsonObject keptObject || !keptObject.TryGetPropertyValue(key, out var keptValue))
                    {
                        unknown.Add(child);
                    }
                    else
                    {
                        CollectUnknown(value, keptValue, child, unknown);
                    }
                }

                break;
            case JsonArray array when kept is JsonArray keptArray:
                for (var i = 0; i < array.Count && i < keptArray.Count; i++)
                {
                    if (array[i] is { } item)
                    {
                        CollectUnknown(item, keptArray[i], $"{path}[{i}]", unknown);
                    }
                }

                break;
        }
    }

    /// <summary>The JSON of a typed model, which needs no checking: it cannot hold unknown fields or wrong types.</summary>
    public static JsonObject FromModel(ResourceType type, object model)
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(model)) as JsonObject ?? [];
        var kind = node["kind"]?.GetValue<string>();
        var apiVersion = node["apiVersion"]?.GetValue<string>();
        if ((!string.IsNullOrEmpty(kind) && kind != type.Kind) || (!string.IsNullOrEmpty(apiVersion) && apiVersion != type.ApiVersion))
        {
            throw StatusBodies.BadRequest($"{kind} in version \"{apiVersion}\" cannot be handled as a {type.Kind}");
        }

        node["kind"] = type.Kind;
        node["apiVersion"] = type.ApiVersion;
        return node;
    }

    /// <summary>Prepares an object for create. <paramref name="node"/> is decoded and owned by the caller.</summary>
    public JsonObject PrepareCreate(ResourceType type, JsonObject node, string @namespace, string manager, long revision, bool keepStatus)
    {
        var metadata = Metadata(node);
        ApplyNamespace(type, metadata, @namespace);
        var name = metadata["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name) && metadata["generateName"]?.GetValue<string>() is { Length: > 0 } generateName)
        {
            metadata["name"] = generateName + RandomSuffix();
        }

        ApplyDecodeDefaults(type, node);
        var fields = ManagedFields.Compute(type, node);
        var now = Timestamp();
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["resourceVersion"] = Format(revision);
        metadata["creationTimestamp"] = now;
        metadata.Remove("deletionTimestamp");
        metadata.Remove("deletionGracePeriodSeconds");
        metadata.Remove("selfLink");
        metadata.Remove("generation");
        if (type.HasGeneration)
        {
            metadata["generation"] = 1;
        }

        metadata["managedFields"] = new JsonArray(ManagedFields.Entry(manager, type.ApiVersion, now, fields));
        ApplyServerFields(type, node, null, keepStatus);
        Validate(type, node, null);
        return (JsonObject)type.Shape.Canonicalize(node)!;
    }

    /// <summary>
    /// Prepares an object replacing <paramref name="existing"/>; returns null when nothing changed.
    /// </summary>
    public JsonObject? PrepareUpdate(ResourceType type, JsonObject node, StoredObject existing, string manager, long revision, bool keepStatus)
    {
        var metadata = Metadata(node);
        var old = (JsonObject)existing.Node["metadata"]!;
        metadata["namespace"] = old["namespace"]?.DeepClone();
        if (!type.Namespaced)
        {
            metadata.Remove("namespace");
        }

        ApplyDecodeDefaults(type, node);
        var fields = ManagedFields.Compute(type, node);
        metadata["uid"] = old["uid"]?.DeepClone();
        metadata["creationTimestamp"] = old["creationTimestamp"]?.DeepClone();
        metadata["resourceVersion"] = old["resourceVersion"]?.DeepClone();
        metadata["generation"] = old["generation"]?.DeepClone();
        metadata["managedFields"] = old["managedFields"]?.DeepClone();
        metadata.Remove("selfLink");
        metadata.Remove("deletionTimestamp");
        metadata.Remove("deletionGracePeriodSeconds");
        ApplyServerFields(type, node, existing.Node, keepStatus);
        Validate(type, node, existing.Node);

        var canonical = (JsonObject)type.Shape.Canonicalize(node)!;
        if (JsonNode.DeepEquals(canonical, existing.Node))
        {
            return null;
        }

        var canonicalMetadata = (JsonObject)canonical["metadata"]!;
        canonicalMetadata["resourceVersion"] = Format(revision);
        if (type.HasGeneration && SpecChanged(canonical, existing.Node))
        {
            var generation = old["generation"] is JsonValue g && long.TryParse(g.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
            canonicalMetadata["generation"] = generation + 1;
        }

        var now = Timestamp();
        var entries = canonicalMetadata["managedFields"] as JsonArray ?? [];
        var updated = new JsonArray();
        var replaced = false;
        foreach (var entry in entries)
        {
            if (entry?["manager"]?.GetValue<string>() == manager && entry["operation"]?.GetValue<string>() == "Update" && !replaced)
            {
                updated.Add(ManagedFields.Entry(manager, type.ApiVersion, now, fields));
                replaced = true;
            }
            else
            {
                updated.Add(entry?.DeepClone());
            }
        }

        if (!replaced)
        {
            updated.Add(ManagedFields.Entry(manager, type.ApiVersion, now, fields));
        }

        canonicalMetadata["managedFields"] = updated;

        // Every key set above already existed in the canonical node, so the layout still holds.
        return canonical;
    }

    /// <summary>
    /// The fast path for edits the emulator makes itself to an already canonical object (no
    /// decoding, defaulting or validation needed): new revision, generation and manager time.
    /// </summary>
    public JsonObject Restamp(StoredObject existing, JsonObject edited, string manager, long revision)
    {
        var metadata = (JsonObject)edited["metadata"]!;
        metadata["resourceVersion"] = Format(revision);
        if (existing.Type.HasGeneration)
        {
            var generation = metadata["generation"] is JsonValue g && long.TryParse(g.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
            metadata["generation"] = generation + 1;
        }

        var now = Timestamp();
        if (metadata["managedFields"] is JsonArray entries)
        {
            var own = entries.OfType<JsonObject>().FirstOrDefault(e => e["manager"]?.GetValue<string>() == manager && e["operation"]?.GetValue<string>() == "Update");
            if (own is not null)
            {
                own["time"] = now;
            }
            else
            {
                entries.Add(ManagedFields.Entry(manager, existing.Type.ApiVersion, now, ManagedFields.Compute(existing.Type, edited)));
            }
        }

        return edited;
    }

    private void Validate(ResourceType type, JsonObject node, JsonObject? existing)
    {
        var errors = ObjectValidator.Validate(type, node, existing, _allowLoopback);
        if (errors.Count > 0)
        {
            throw StatusBodies.Invalid(type, node["metadata"]?["name"]?.GetValue<string>() ?? "", errors);
        }
    }

    private static JsonObject Metadata(JsonObject node)
    {
        if (node["metadata"] is not JsonObject metadata)
        {
            metadata = [];
            node["metadata"] = metadata;
        }

        return metadata;
    }

    private static void ApplyNamespace(ResourceType type, JsonObject metadata, string @namespace)
    {
        if (!type.Namespaced)
        {
            metadata.Remove("namespace");
            return;
        }

        var given = metadata["namespace"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(given) && given != @namespace)
        {
            throw StatusBodies.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        metadata["namespace"] = @namespace;
    }

    /// <summary>Defaults the real server applies while decoding (so they show up in managedFields too).</summary>
    private static void ApplyDecodeDefaults(ResourceType type, JsonObject node)
    {
        if (type == ResourceTypes.EndpointSlices)
        {
            foreach (var port in Items(node["ports"]))
            {
                port["protocol"] ??= "TCP";
            }

            foreach (var endpoint in Items(node["endpoints"]))
            {
                endpoint["conditions"] ??= new JsonObject();
            }
        }
        else if (type == ResourceTypes.Endpoints)
        {
            foreach (var subset in Items(node["subsets"]))
            {
                foreach (var port in Items(subset["ports"]))
                {
                    port["protocol"] ??= "TCP";
                }
            }
        }
        else if (type == ResourceTypes.Services)
        {
            var spec = node["spec"] as JsonObject ?? [];
            node["spec"] = spec;
            spec["type"] ??= "ClusterIP";
            spec["sessionAffinity"] ??= "None";
            if (spec["sessionAffinity"] is JsonValue affinity && affinity.GetValueKind() == JsonValueKind.String && affinity.GetValue<string>() == "ClientIP"
                && spec["sessionAffinityConfig"]?["clientIP"]?["timeoutSeconds"] is null)
            {
                // As the API server defaults it: three hours.
                spec["sessionAffinityConfig"] = new JsonObject { ["clientIP"] = new JsonObject { ["timeoutSeconds"] = 10800 } };
            }
            var serviceType = spec["type"]!.GetValue<string>();
            if (serviceType != "ExternalName")
            {
                spec["internalTrafficPolicy"] ??= "Cluster";
            }

            if (serviceType is "NodePort" or "LoadBalancer")
            {
                spec["externalTrafficPolicy"] ??= "Cluster";
            }

            if (serviceType == "LoadBalancer")
            {
                spec["allocateLoadBalancerNodePorts"] ??= true;
            }

            foreach (var port in Items(spec["ports"]))
            {
                port["protocol"] ??= "TCP";
                if (port["targetPort"] is null || port["targetPort"]!.ToJsonString() is "0" or "\"\"")
                {
                    port["targetPort"] = port["port"]?.DeepClone();
                }
            }
        }
        else if (type == ResourceTypes.Namespaces)
        {
            var spec = node["spec"] as JsonObject ?? [];
            node["spec"] = spec;
            spec["finalizers"] ??= new JsonArray("kubernetes");
        }
    }

    /// <summary>Fields the registry fills in after decoding: cluster IPs, node ports, status.</summary>
    private void ApplyServerFields(ResourceType type, JsonObject node, JsonObject? existing, bool keepStatus)
    {
        var metadata = Metadata(node);
        if (type == ResourceTypes.Namespaces)
        {
            var labels = metadata["labels"] as JsonObject ?? [];
            metadata["labels"] = labels;
            labels["kubernetes.io/metadata.name"] = metadata["name"]?.DeepClone();
            node["status"] = new JsonObject { ["phase"] = "Active" };
        }
        else if (type == ResourceTypes.Services)
        {
            var spec = (JsonObject)node["spec"]!;
            var oldSpec = existing?["spec"] as JsonObject;
            var serviceType = spec["type"]!.GetValue<string>();
            if (serviceType == "ExternalName")
            {
                spec.Remove("clusterIP");
                spec.Remove("clusterIPs");
                spec.Remove("ipFamilies");
                spec.Remove("ipFamilyPolicy");
            }
            else
            {
                var clusterIp = spec["clusterIP"]?.GetValue<string>();
                if (string.IsNullOrEmpty(clusterIp))
                {
                    clusterIp = oldSpec?["clusterIP"]?.GetValue<string>() is { Length: > 0 } kept ? kept : AllocateClusterIp();
                }

                spec["clusterIP"] = clusterIp;
                spec["clusterIPs"] = new JsonArray(clusterIp);
                spec["ipFamilies"] ??= new JsonArray("IPv4");
                spec["ipFamilyPolicy"] ??= "SingleStack";
                if (serviceType is "NodePort" or "LoadBalancer")
                {
                    var oldPorts = Items(oldSpec?["ports"]).ToList();
                    foreach (var port in Items(spec["ports"]))
                    {
                        if (port["nodePort"] is null || port["nodePort"]!.ToJsonString() == "0")
                        {
                            var same = oldPorts.FirstOrDefault(p => p["port"]?.ToJsonString() == port["port"]?.ToJsonString());
                            port["nodePort"] = same?["nodePort"]?.DeepClone() ?? AllocateNodePort();
                        }
                    }
                }
            }

            if (!keepStatus)
            {
                node["status"] = existing?["status"]?.DeepClone() ?? new JsonObject { ["loadBalancer"] = new JsonObject() };
            }
        }
        else if (type == ResourceTypes.Pods && !keepStatus)
        {
            node["status"] = existing?["status"]?.DeepClone() ?? new JsonObject { ["phase"] = "Pending", ["qosClass"] = "BestEffort" };
        }
    }

    private static bool SpecChanged(JsonObject a, JsonObject b)
    {
        foreach (var (key, value) in a)
        {
            if (key is "metadata" or "kind" or "apiVersion")
            {
                continue;
            }

            if (!JsonNode.DeepEquals(value, b[key]))
            {
                return true;
            }
        }

        return b.Any(p => p.Key is not ("metadata" or "kind" or "apiVersion") && !a.ContainsKey(p.Key));
    }

    private string AllocateClusterIp()
    {
        var n = Interlocked.Increment(ref _nextClusterIp);
        return $"10.96.{(n >> 8) & 0xff}.{n & 0xff}";
    }

    private int AllocateNodePort() => Interlocked.Increment(ref _nextNodePort);

    private string Timestamp() => _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private string RandomSuffix()
    {
        Span<char> chars = stackalloc char[5];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = GenerateNameAlphabet[_randomIndex(GenerateNameAlphabet.Length)];
        }

        return new string(chars);
    }

    private static IEnumerable<JsonObject> Items(JsonNode? node) => node is JsonArray array ? array.OfType<JsonObject>() : [];

    private static string Format(long revision) => revision.ToString(CultureInfo.InvariantCulture);

    private static string JsonKind(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            _ => "bool",
        },
        _ => "object",
    };

    private static object Deserialize(ResourceType type, JsonObject obj)
    {
        object? model = type.Kind switch
        {
            "EndpointSlice" => KubernetesJson.Deserialize<V1EndpointSlice>(obj),
            "Endpoints" => KubernetesJson.Deserialize<V1Endpoints>(obj),
            "Service" => KubernetesJson.Deserialize<V1Service>(obj),
            "Namespace" => KubernetesJson.Deserialize<V1Namespace>(obj),
            "Pod" => KubernetesJson.Deserialize<V1Pod>(obj),
            _ => throw new InvalidOperationException($"No model for {type.Kind}."),
        };
        return model ?? throw new JsonException("null object");
    }
}
