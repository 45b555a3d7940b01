using System.Text;
using Discovery.Testing.Wire;

namespace Discovery.Testing.Store;

/// <summary>Everything the emulator needs to know about one served resource.</summary>
internal sealed class ResourceType
{
    public ResourceType(
        string plural,
        string kind,
        string group,
        bool namespaced,
        JsonShape shape,
        Type modelType,
        bool hasGeneration,
        bool deleteReturnsObject,
        bool allowCreateOnUpdate,
        IReadOnlyList<string> shortNames,
        IReadOnlyList<string> supportedFieldLabels)
    {
        Plural = plural;
        Kind = kind;
        Group = group;
        Namespaced = namespaced;
        Shape = shape;
        ModelType = modelType;
        HasGeneration = hasGeneration;
        DeleteReturnsObject = deleteReturnsObject;
        AllowCreateOnUpdate = allowCreateOnUpdate;
        ShortNames = shortNames;
        SupportedFieldLabels = supportedFieldLabels;
        ApiVersion = group.Length == 0 ? "v1" : group + "/v1";
        GroupResource = group.Length == 0 ? plural : plural + "." + group;
        QualifiedKind = group.Length == 0 ? kind : kind + "." + group;
        TypeMetaPrefix = Encoding.UTF8.GetBytes($"{{\"kind\":\"{kind}\",\"apiVersion\":\"{ApiVersion}\",");
    }

    /// <summary>Resource name in URLs, e.g. <c>endpointslices</c>.</summary>
    public string Plural { get; }

    /// <summary>Kind, e.g. <c>EndpointSlice</c>.</summary>
    public string Kind { get; }

    /// <summary>API group; empty for the core group.</summary>
    public string Group { get; }

    /// <summary>Group/version as written in objects (<c>v1</c> or <c>discovery.k8s.io/v1</c>).</summary>
    public string ApiVersion { get; }

    /// <summary>Whether objects live in namespaces.</summary>
    public bool Namespaced { get; }

    /// <summary>The Go layout used to canonicalise objects.</summary>
    public JsonShape Shape { get; }

    /// <summary>The KubernetesClient model type, used to check and normalise incoming objects.</summary>
    public Type ModelType { get; }

    /// <summary>Whether the server maintains <c>metadata.generation</c>.</summary>
    public bool HasGeneration { get; }

    /// <summary>Whether DELETE answers with the deleted object rather than a Status.</summary>
    public bool DeleteReturnsObject { get; }

    /// <summary>Whether PUT of a missing object creates it.</summary>
    public bool AllowCreateOnUpdate { get; }

    /// <summary>Short names in discovery documents.</summary>
    public IReadOnlyList<string> ShortNames { get; }

    /// <summary>Field selector labels besides metadata.name/metadata.namespace.</summary>
    public IReadOnlyList<string> SupportedFieldLabels { get; }

    /// <summary><c>endpointslices.discovery.k8s.io</c> or <c>services</c>, as used in messages.</summary>
    public string GroupResource { get; }

    /// <summary><c>EndpointSlice.discovery.k8s.io</c> or <c>Service</c>, as used in 422 messages.</summary>
    public string QualifiedKind { get; }

    /// <summary>The list kind, e.g. <c>EndpointSliceList</c>.</summary>
    public string ListKind => Kind + "List";

    /// <summary>The bytes every serialised object of this type starts with (<c>{"kind":..,"apiVersion":..,</c>).</summary>
    public byte[] TypeMetaPrefix { get; }

    /// <inheritdoc />
    public override string ToString() => GroupResource;
}
