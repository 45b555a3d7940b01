using System.Text;
using System.Text.Json.Nodes;
using Discovery.Testing.Store;

namespace Discovery.Testing.Http;

/// <summary>The discovery documents kubectl and clients read to learn which resources are served.</summary>
internal static class DiscoveryDocuments
{
    private static readonly string[] ReadWriteVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    /// <summary><c>/version</c>: always indented, never a trailing newline.</summary>
    public static byte[] Version() => Encoding.UTF8.GetBytes("""
        {
          "major": "1",
          "minor": "26",
          "gitVersion": "v1.26.0",
          "gitCommit": "8f94681cd294aa8cfd3407b8191f6c70214973a4",
          "gitTreeState": "",
          "buildDate": "1970-01-01T00:00:00Z",
          "goVersion": "go1.19.8",
          "compiler": "gc",
          "platform": "linux/amd64"
        }
        """.ReplaceLineEndings("\n"));

    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject ApiGroupList() => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(DiscoveryGroup()),
    };

    public static JsonObject ApiGroup()
    {
        var group = DiscoveryGroup();
        var result = new JsonObject { ["kind"] = "APIGroup", ["apiVersion"] = "v1" };
        foreach (var (key, value) in group.ToList())
        {
            group.Remove(key);
            result[key] = value;
        }

        return result;
    }

    public static JsonObject CoreResources() => ResourceList("v1", [
        Resource(ResourceTypes.Namespaces, ["create", "delete", "get", "list", "patch", "update", "watch"], "QxyTNRXi3Ag=", null),
        Resource(ResourceTypes.Services, ReadWriteVerbs, "0/CO1lhkEBI=", ["all"]),
        Resource(ResourceTypes.Endpoints, ReadWriteVerbs, "fWeeMqaN/OA=", null),
        Resource(ResourceTypes.Pods, ReadWriteVerbs, "xPOwRZ+Yhw8=", ["all"]),
    ]);

    public static JsonObject DiscoveryResources() => ResourceList("discovery.k8s.io/v1", [
        Resource(ResourceTypes.EndpointSlices, ReadWriteVerbs, "Nx3SIv6I0mE=", null),
    ]);

    private static JsonObject DiscoveryGroup() => new()
    {
        ["name"] = "discovery.k8s.io",
        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = "discovery.k8s.io/v1", ["version"] = "v1" }),
        ["preferredVersion"] = new JsonObject { ["groupVersion"] = "discovery.k8s.io/v1", ["version"] = "v1" },
    };

    private static JsonObject ResourceList(string groupVersion, JsonObject[] resources) => new()
    {
        ["kind"] = "APIResourceList",
        ["apiVersion"] = "v1",
        ["groupVersion"] = groupVersion,
        ["resources"] = new JsonArray(resources),
    };

    private static JsonObject Resource(ResourceType type, string[] verbs, string storageVersionHash, string[]? categories)
    {
        var resource = new JsonObject
        {
            ["name"] = type.Plural,
            ["singularName"] = "",
            ["namespaced"] = type.Namespaced,
            ["kind"] = type.Kind,
            ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)v)]),
        };
        if (type.ShortNames.Count > 0)
        {
            resource["shortNames"] = new JsonArray([.. type.ShortNames.Select(v => (JsonNode)v)]);
        }

        if (categories is not null)
        {
            resource["categories"] = new JsonArray([.. categories.Select(v => (JsonNode)v)]);
        }

        resource["storageVersionHash"] = storageVersionHash;
        return resource;
    }
}
