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
        Resource(ResourceTypes.Nodes, ReadWriteVerbs, "XwShjMxG9Fs=", null),
    ]);

    public static JsonObject DiscoveryResources() => ResourceList("discovery.k8s.io/v1", [
        Resource(ResourceTypes.EndpointSlices, ReadWriteVerbs, "Nx3SIv6I0mE=", null),
    ]);

    /// <summary>
    /// <c>/openapi/v3</c>: the index of group-version documents. kubectl reads it to learn that
    /// the server validates fields itself (then it skips client-side schema validation).
    /// </summary>
    public static JsonObject OpenApiIndex() => new()
    {
        ["paths"] = new JsonObject
        {
            ["api/v1"] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/api/v1?hash=EMULATOR" },
            ["apis/discovery.k8s.io/v1"] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/apis/discovery.k8s.io/v1?hash=EMULATOR" },
        },
    };

    /// <summary>
    /// A minimal OpenAPI v3 document for one group-version: each resource's PATCH operation with
    /// its group-version-kind and the <c>fieldValidation</c> parameter, which is what kubectl checks.
    /// No schemas are served.
    /// </summary>
    public static JsonObject OpenApiGroupVersion(string group)
    {
        var paths = new JsonObject();
        foreach (var type in ResourceTypes.All.Where(t => t.Group == group))
        {
            var prefix = group.Length == 0 ? "/api/v1" : $"/apis/{group}/v1";
            var path = type.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{type.Plural}/{{name}}" : $"{prefix}/{type.Plural}/{{name}}";
            paths[path] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["x-kubernetes-group-version-kind"] = new JsonObject { ["group"] = group, ["version"] = "v1", ["kind"] = type.Kind },
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["responses"] = new JsonObject(),
                },
            };
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.26.0" },
            ["paths"] = paths,
        };
    }

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
