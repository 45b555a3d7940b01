using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Discovery.Testing.Store;
using Discovery.Testing.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Discovery.Testing.Http;

/// <summary>Routes and answers every request: discovery documents, and get/list/watch/create/update/patch/delete of resources.</summary>
internal sealed class ApiRequestHandler
{
    private readonly ObjectStore _store;
    private readonly ObjectWriter _writer;
    private readonly EmulatorFaults _faults;
    private readonly EmulatorAccessRules _access;
    private readonly KubernetesApiEmulatorOptions _options;
    private readonly RequestLog _requests;
    private readonly WatchStreamer _watches;
    private readonly ListResponder _lists;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    public ApiRequestHandler(
        ObjectStore store,
        ObjectWriter writer,
        EmulatorFaults faults,
        EmulatorAccessRules access,
        KubernetesApiEmulatorOptions options,
        RequestLog requests,
        ILogger logger,
        CancellationToken stopping)
    {
        _store = store;
        _writer = writer;
        _faults = faults;
        _access = access;
        _options = options;
        _requests = requests;
        _logger = logger;
        _stopping = stopping;
        _watches = new WatchStreamer(store, faults, options);
        _lists = new ListResponder(store, faults);
    }

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var pathAndQuery = request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
        _requests.Add(new EmulatorRequest(request.Method, pathAndQuery, request.Headers.UserAgent.Count > 0 ? request.Headers.UserAgent.ToString() : null, request.Headers.Authorization.Count > 0, _options.TimeProvider.GetUtcNow()));
        if (_faults.CurrentOutage == OutageMode.RefuseConnections)
        {
            // Accepted while the listener was closing: a down server never answers it.
            context.Abort();
            return;
        }

        var pretty = false;
        try
        {
            pretty = ResponseWriter.IsPretty(request);
            var delay = _faults.ResponseDelay;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _options.TimeProvider, context.RequestAborted).ConfigureAwait(false);
            }

            if (_faults.CurrentOutage == OutageMode.ServiceUnavailable)
            {
                throw StatusBodies.ServiceUnavailable();
            }

            var user = _access.Authenticate(BearerToken(request)) ?? throw StatusBodies.Unauthorized();
            await RouteAsync(context, user, pretty).ConfigureAwait(false);
        }
        catch (ApiException error)
        {
            if (!context.Response.HasStarted)
            {
                await ResponseWriter.WriteErrorAsync(context, error, pretty).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // The client or the emulator went away.
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            EmulatorLog.UnexpectedError(_logger, request.Method, pathAndQuery, e);
            if (!context.Response.HasStarted)
            {
                await ResponseWriter.WriteErrorAsync(context, new ApiException($"Internal error occurred: {e.Message}"), pretty).ConfigureAwait(false);
            }
        }
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }

    private async Task RouteAsync(HttpContext context, string user, bool pretty)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var isGet = HttpMethods.IsGet(request.Method);

        switch (segments)
        {
            case ["version"] when isGet:
                ResponseWriter.SetHeaders(context.Response, 200);
                var version = DiscoveryDocuments.Version();
                context.Response.ContentLength = version.Length;
                await context.Response.Body.WriteAsync(version, context.RequestAborted).ConfigureAwait(false);
                return;
            case ["api"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.ApiVersions($"{context.Connection.LocalIpAddress}:{context.Connection.LocalPort}"), pretty).ConfigureAwait(false);
                return;
            case ["api", "v1"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.CoreResources(), pretty).ConfigureAwait(false);
                return;
            case ["apis"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.ApiGroupList(), pretty).ConfigureAwait(false);
                return;
            case ["apis", "discovery.k8s.io"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.ApiGroup(), pretty).ConfigureAwait(false);
                return;
            case ["apis", "discovery.k8s.io", "v1"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.DiscoveryResources(), pretty).ConfigureAwait(false);
                return;
            case ["openapi", "v3"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.OpenApiIndex(), pretty).ConfigureAwait(false);
                return;
            case ["openapi", "v3", "api", "v1"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.OpenApiGroupVersion(""), pretty).ConfigureAwait(false);
                return;
            case ["openapi", "v3", "apis", "discovery.k8s.io", "v1"] when isGet:
                await ResponseWriter.WriteNodeAsync(context, 200, DiscoveryDocuments.OpenApiGroupVersion("discovery.k8s.io"), pretty).ConfigureAwait(false);
                return;
        }

        var route = ApiRoute.Parse(segments) ?? throw StatusBodies.UnknownPath();
        if (route.Subresource is not null && (route.Subresource != "status" || route.Type == ResourceTypes.EndpointSlices || route.Type == ResourceTypes.Endpoints))
        {
            throw StatusBodies.UnknownPath();
        }

        var verb = VerbOf(request, route);
        if (!_access.IsAllowed(user, route.Namespace, route.Type.Plural, verb))
        {
            throw StatusBodies.Forbidden(route.Type, route.Name, user, verb, route.Namespace);
        }

        switch (verb)
        {
            case "get":
                await GetAsync(context, route, pretty).ConfigureAwait(false);
                break;
            case "list":
                await _lists.ListAsync(context, route, pretty).ConfigureAwait(false);
                break;
            case "watch":
                await WatchAsync(context, route).ConfigureAwait(false);
                break;
            case "create":
                await CreateAsync(context, route, pretty).ConfigureAwait(false);
                break;
            case "update":
                await UpdateAsync(context, route, pretty).ConfigureAwait(false);
                break;
            case "patch":
                await PatchAsync(context, route, pretty).ConfigureAwait(false);
                break;
            case "delete":
                await DeleteAsync(context, route, pretty).ConfigureAwait(false);
                break;
            case "deletecollection":
                await DeleteCollectionAsync(context, route, pretty).ConfigureAwait(false);
                break;
            default:
                throw new ApiException(405, StatusBodies.Failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", []));
        }
    }

    private static string VerbOf(HttpRequest request, ApiRoute route)
    {
        var method = request.Method;
        var named = route.Name is not null;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            return named ? "get" : IsTrue(request.Query["watch"]) ? "watch" : "list";
        }

        if (HttpMethods.IsPost(method))
        {
            return named ? "post" : "create";
        }

        if (HttpMethods.IsPut(method))
        {
            return named ? "update" : "put";
        }

        if (HttpMethods.IsPatch(method))
        {
            return named ? "patch" : "patch-collection";
        }

        if (HttpMethods.IsDelete(method))
        {
            return named ? "delete" : "deletecollection";
        }

        return method.ToLowerInvariant();
    }

    private static bool IsTrue(Microsoft.Extensions.Primitives.StringValues value) =>
        value.Count > 0 && value[0] is "1" or "t" or "T" or "true" or "TRUE" or "True";

    private async Task GetAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        if (_faults.TakeListFailure() is { } failure)
        {
            throw StatusBodies.ForStatusCode(failure);
        }

        var obj = _store.Get(route.Type, route.Namespace ?? "", route.Name!) ?? throw StatusBodies.NotFound(route.Type, route.Name!);
        await ResponseWriter.WriteBodyAsync(context, 200, obj.Json, pretty).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext context, ApiRoute route)
    {
        var query = context.Request.Query;
        var filter = ListResponder.Filter(route.Type, query);
        var resourceVersion = query["resourceVersion"].ToString();
        long? from = null;
        if (resourceVersion.Length > 0 && resourceVersion != "0")
        {
            if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw StatusBodies.BadRequest($"resourceVersion: Invalid value: \"{resourceVersion}\": must be a valid resource version");
            }

            from = parsed;
        }

        int? timeout = null;
        if (query["timeoutSeconds"].Count > 0)
        {
            if (!int.TryParse(query["timeoutSeconds"][0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
            {
                throw StatusBodies.BadRequest($"timeoutSeconds: Invalid value: \"{query["timeoutSeconds"][0]}\": must be an integer");
            }

            timeout = seconds;
        }

        if (query["sendInitialEvents"].Count > 0)
        {
            throw new ApiException(422, StatusBodies.Failure(422, "Invalid", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled", null));
        }

        if (_faults.TakeWatch410())
        {
            var current = _store.CurrentRevision;
            await WatchStreamer.WriteExpiredAsync(context, StatusBodies.WatchTooOld(from ?? current, current)).ConfigureAwait(false);
            return;
        }

        await _watches.StreamAsync(context, route, filter, from, IsTrue(query["allowWatchBookmarks"]), timeout, _stopping).ConfigureAwait(false);
    }

    private async Task CreateAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        if (route.Subresource is not null)
        {
            throw StatusBodies.MethodNotSupported(route.Type, "create");
        }

        var body = await RequestBody.ReadJsonAsync(context, _options.MaxRequestBodyBytes, patchTypes: false).ConfigureAwait(false);
        var node = RequestBody.DecodeWithFieldValidation(context, route.Type, body);
        var @namespace = route.Namespace ?? "";
        if (route.Type.Namespaced)
        {
            _writer.EnsureNamespaceExists(@namespace);
        }

        var stored = _writer.Create(route.Type, node, @namespace, RequestBody.Manager(context.Request), keepStatus: false);
        await ResponseWriter.WriteBodyAsync(context, 201, stored.Json, pretty).ConfigureAwait(false);
    }

    private async Task UpdateAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        var body = await RequestBody.ReadJsonAsync(context, _options.MaxRequestBodyBytes, patchTypes: false).ConfigureAwait(false);
        var node = RequestBody.DecodeWithFieldValidation(context, route.Type, body);
        var bodyName = node["metadata"]?["name"]?.GetValue<string>() ?? "";
        if (bodyName != route.Name)
        {
            throw StatusBodies.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({route.Name})");
        }

        var @namespace = route.Namespace ?? "";
        var bodyNamespace = node["metadata"]?["namespace"]?.GetValue<string>();
        if (route.Type.Namespaced && !string.IsNullOrEmpty(bodyNamespace) && bodyNamespace != @namespace)
        {
            throw StatusBodies.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        var (stored, created) = _writer.Update(route.Type, node, @namespace, route.Name!, RequestBody.Manager(context.Request), route.Subresource == "status", checkResourceVersion: true);
        await ResponseWriter.WriteBodyAsync(context, created ? 201 : 200, stored.Json, pretty).ConfigureAwait(false);
    }

    private async Task PatchAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        var contentType = context.Request.ContentType ?? "";
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not ("application/merge-patch+json" or "application/json-patch+json" or "application/strategic-merge-patch+json"))
        {
            throw StatusBodies.UnsupportedMediaType(contentType);
        }

        var patch = await RequestBody.ReadJsonAsync(context, _options.MaxRequestBodyBytes, patchTypes: true).ConfigureAwait(false);
        var stored = _writer.Patch(route.Type, route.Namespace ?? "", route.Name!, patch, mediaType == "application/json-patch+json", RequestBody.Manager(context.Request), route.Subresource == "status");
        await ResponseWriter.WriteBodyAsync(context, 200, stored.Json, pretty).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        if (route.Subresource is not null)
        {
            throw StatusBodies.MethodNotSupported(route.Type, "delete");
        }

        string? preconditionRevision = null;
        string? preconditionUid = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var options = await RequestBody.ReadJsonAsync(context, _options.MaxRequestBodyBytes, patchTypes: false, allowEmpty: true).ConfigureAwait(false);
            if (options is not null and not JsonObject)
            {
                throw StatusBodies.BadRequest("json: cannot unmarshal into Go value of type v1.DeleteOptions");
            }

            var preconditions = options?["preconditions"];
            if (preconditions is not null and not JsonObject)
            {
                throw StatusBodies.BadRequest("json: cannot unmarshal into Go struct field DeleteOptions.preconditions of type v1.Preconditions");
            }

            preconditionRevision = StringOrNull(preconditions?["resourceVersion"]);
            preconditionUid = StringOrNull(preconditions?["uid"]);
        }

        var deleted = _writer.Delete(route.Type, route.Namespace ?? "", route.Name!, preconditionRevision, preconditionUid)
            ?? throw StatusBodies.NotFound(route.Type, route.Name!);
        if (route.Type.DeleteReturnsObject)
        {
            var node = (JsonObject)deleted.Node.DeepClone();
            if (route.Type == ResourceTypes.Namespaces)
            {
                // A real namespace lingers as Terminating while its contents go; here they are gone already.
                ((JsonObject)node["metadata"]!)["deletionTimestamp"] = _options.TimeProvider.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                node["status"] = new JsonObject { ["phase"] = "Terminating" };
                node = (JsonObject)route.Type.Shape.Canonicalize(node)!;
            }

            await ResponseWriter.WriteNodeAsync(context, 200, node, pretty).ConfigureAwait(false);
            return;
        }

        var details = StatusBodies.Details(route.Type, route.Name);
        details["uid"] = deleted.Uid;
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = details,
        };
        await ResponseWriter.WriteNodeAsync(context, 200, status, pretty).ConfigureAwait(false);
    }

    private async Task DeleteCollectionAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        var filter = ListResponder.Filter(route.Type, context.Request.Query);
        var deleted = new List<StoredObject>();
        foreach (var obj in _store.List(route.Type, route.Namespace).Items)
        {
            if (filter.Matches(obj) && _writer.Delete(route.Type, obj.Namespace, obj.Name) is { } gone)
            {
                deleted.Add(gone);
            }
        }

        await ListResponder.WriteListAsync(context, route.Type, deleted, _store.CurrentRevision, null, null, pretty).ConfigureAwait(false);
    }

    private static string? StringOrNull(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw StatusBodies.BadRequest("json: cannot unmarshal non-string into Go struct field Preconditions of type string"),
    };
}
