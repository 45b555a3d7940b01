using Discovery.Testing.Store;

namespace Discovery.Testing.Http;

/// <summary>A request path resolved to a resource: <c>/apis/{group}/v1/namespaces/{ns}/{plural}/{name}/{subresource}</c>.</summary>
/// <param name="Type">The resource.</param>
/// <param name="Namespace">The namespace in the path; null for all namespaces or a cluster-scoped resource.</param>
/// <param name="Name">The object name; null for the collection.</param>
/// <param name="Subresource">Only <c>status</c> is served.</param>
internal sealed record ApiRoute(ResourceType Type, string? Namespace, string? Name, string? Subresource)
{
    /// <summary>Resolves a resource path; null when it is not one (discovery documents are handled elsewhere).</summary>
    public static ApiRoute? Parse(string[] segments)
    {
        string group;
        int rest;
        if (segments.Length >= 2 && segments[0] == "api" && segments[1] == "v1")
        {
            group = "";
            rest = 2;
        }
        else if (segments.Length >= 3 && segments[0] == "apis" && segments[2] == "v1")
        {
            group = segments[1];
            rest = 3;
        }
        else
        {
            return null;
        }

        var parts = segments[rest..];
        if (parts.Length >= 3 && parts[0] == "namespaces")
        {
            var type = ResourceTypes.Find(group, parts[2]);
            if (type is null || !type.Namespaced || parts.Length > 5)
            {
                return null;
            }

            return new ApiRoute(type, parts[1], parts.Length > 3 ? parts[3] : null, parts.Length > 4 ? parts[4] : null);
        }

        if (parts.Length is 1 or 2 or 3)
        {
            var type = ResourceTypes.Find(group, parts[0]);
            if (type is null || (type.Namespaced && parts.Length > 1))
            {
                return null;
            }

            return new ApiRoute(type, null, parts.Length > 1 ? parts[1] : null, parts.Length > 2 ? parts[2] : null);
        }

        return null;
    }
}
