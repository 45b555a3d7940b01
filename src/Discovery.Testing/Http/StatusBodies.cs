using System.Text.Json.Nodes;
using Discovery.Testing.Store;
using Discovery.Testing.Validation;

namespace Discovery.Testing.Http;

/// <summary>Builds metav1.Status bodies with the real server's reasons, messages and details.</summary>
internal static class StatusBodies
{
    public const string ContinueTooOldMessage =
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

    /// <summary>A failure Status in the server's key order.</summary>
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details, JsonObject? metadata = null) => new JsonObject()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = metadata ?? [],
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["details"] = details,
        ["code"] = code,
    }.WithoutNulls();

    public static JsonObject Details(ResourceType type, string? name, string? kind = null) => new JsonObject
    {
        ["name"] = string.IsNullOrEmpty(name) ? null : name,
        ["group"] = type.Group.Length == 0 ? null : type.Group,
        ["kind"] = kind ?? type.Plural,
    }.WithoutNulls();

    public static ApiException NotFound(ResourceType type, string name) =>
        new(404, Failure(404, "NotFound", $"{type.GroupResource} \"{name}\" not found", Details(type, name)));

    public static ApiException NamespaceNotFound(string name) =>
        NotFound(ResourceTypes.Namespaces, name);

    public static ApiException UnknownPath() =>
        new(404, Failure(404, "NotFound", "the server could not find the requested resource", []));

    public static ApiException AlreadyExists(ResourceType type, string name) =>
        new(409, Failure(409, "AlreadyExists", $"{type.GroupResource} \"{name}\" already exists", Details(type, name)));

    public static ApiException Conflict(ResourceType type, string name) =>
        new(409, Failure(409, "Conflict", $"Operation cannot be fulfilled on {type.GroupResource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", Details(type, name)));

    public static ApiException PreconditionConflict(ResourceType type, string name, string detail) =>
        new(409, Failure(409, "Conflict", $"Operation cannot be fulfilled on {type.GroupResource} \"{name}\": {detail}", Details(type, name)));

    public static ApiException BadRequest(string message) =>
        new(400, Failure(400, "BadRequest", message, null));

    public static ApiException Unauthorized() =>
        new(401, Failure(401, "Unauthorized", "Unauthorized", null));

    public static ApiException Forbidden(ResourceType type, string? name, string user, string verb, string? @namespace)
    {
        var subject = string.IsNullOrEmpty(name) ? type.GroupResource : $"{type.GroupResource} \"{name}\"";
        var scope = @namespace is null ? "at the cluster scope" : $"in the namespace \"{@namespace}\"";
        var message = $"{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{type.Plural}\" in API group \"{type.Group}\" {scope}";
        return new(403, Failure(403, "Forbidden", message, Details(type, name)));
    }

    public static ApiException ListTooOld() =>
        new(410, Failure(410, "Expired", "The resourceVersion for the provided list is too old.", null));

    public static ApiException ContinueTooOld(string freshToken) =>
        new(410, Failure(410, "Expired", ContinueTooOldMessage, null, new JsonObject { ["continue"] = freshToken }));

    public static JsonObject WatchTooOld(long requested, long oldest) =>
        Failure(410, "Expired", $"too old resource version: {requested} ({oldest})", null);

    public static ApiException TooLargeResourceVersion(long requested, long current) =>
        new(504, Failure(504, "Timeout", $"Too large resource version: {requested}, current: {current}", new JsonObject
        {
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ResourceVersionTooLarge", ["message"] = "Too large resource version" }),
            ["retryAfterSeconds"] = 1,
        }));

    public static ApiException Invalid(ResourceType type, string name, IReadOnlyList<FieldError> errors)
    {
        var summary = errors.Count == 1 ? errors[0].ToString() : "[" + string.Join(", ", errors.Select(e => e.ToString())) + "]";
        var causes = new JsonArray();
        foreach (var error in errors)
        {
            causes.Add(new JsonObject { ["reason"] = error.Reason, ["message"] = error.Detail, ["field"] = error.Field });
        }

        var details = Details(type, name, type.Kind);
        details["causes"] = causes;
        return new(422, Failure(422, "Invalid", $"{type.QualifiedKind} \"{name}\" is invalid: {summary}", details));
    }

    public static ApiException RequestEntityTooLarge(long limit) =>
        new(413, Failure(413, "RequestEntityTooLarge", $"Request entity too large: limit is {limit}", null));

    public static ApiException UnsupportedMediaType(string contentType) =>
        new(415, Failure(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got \"{contentType}\")", null));

    public static ApiException MethodNotSupported(ResourceType type, string verb) =>
        new(405, Failure(405, "MethodNotAllowed", $"{verb} is not supported on resources of kind \"{type.Plural}\"", Details(type, null)));

    public static ApiException ServiceUnavailable() =>
        new(503, Failure(503, "ServiceUnavailable", "The API server is unavailable (emulated outage).", null));

    /// <summary>A Status for an arbitrary status code, used by the fail-next-request fault.</summary>
    public static ApiException ForStatusCode(int code) => new(code, Failure(code, ReasonFor(code), MessageFor(code), null));

    private static string ReasonFor(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };

    private static string MessageFor(int code) => code switch
    {
        410 => "The resourceVersion for the provided list is too old.",
        429 => "Too many requests, please try again later.",
        500 => "Internal error occurred: injected fault",
        _ => $"injected fault: HTTP {code}",
    };

    private static JsonObject WithoutNulls(this JsonObject obj)
    {
        foreach (var key in obj.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            obj.Remove(key);
        }

        return obj;
    }
}
