using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Discovery.Testing.Selectors;
using Discovery.Testing.Store;
using Discovery.Testing.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Discovery.Testing.Http;

/// <summary>Routes and answers every request: discovery documents, and get/list/watch/create/update/patch/delete of resources.</summary>
internal sealed class ApiRequestHandler
{
    private readonly ObjectStore _store;
    private readonly ObjectPipeline _pipeline;
    private readonly EmulatorFaults _faults;
    private readonly EmulatorAccessRules _access;
    private readonly KubernetesApiEmulatorOptions _options;
    private readonly RequestLog _requests;
    private readonly WatchStreamer _watches;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    public ApiRequestHandler(
        ObjectStore store,
        ObjectPipeline pipeline,
        EmulatorFaults faults,
        EmulatorAccessRules access,
        KubernetesApiEmulatorOptions options,
        RequestLog requests,
        ILogger logger,
        CancellationToken stopping)
    {
        _store = store;
        _pipeline = pipeline;
        _faults = faults;
        _access = access;
        _options = options;
        _requests = requests;
        _logger = logger;
        _stopping = stopping;
        _watches = new WatchStreamer(store, faults, options);
    }

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var pathAndQuery = request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
        _requests.Add(new EmulatorRequest(request.Method, pathAndQuery, request.Headers.UserAgent.Count > 0 ? request.Headers.UserAgent.ToString() : null, request.Headers.Authorization.Count > 0, _options.TimeProvider.GetUtcNow()));
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
                await ListAsync(context, route, pretty).ConfigureAwait(false);
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

    private async Task ListAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        if (_faults.TakeListFailure() is { } failure)
        {
            throw StatusBodies.ForStatusCode(failure);
        }

        var query = context.Request.Query;
        var filter = Filter(route.Type, query);
        var limit = 0L;
        if (query["limit"].Count > 0 && !long.TryParse(query["limit"][0], NumberStyles.Integer, CultureInfo.InvariantCulture, out limit))
        {
            throw StatusBodies.BadRequest($"limit: Invalid value: \"{query["limit"][0]}\": must be an integer");
        }

        var continueText = query["continue"].ToString();
        var resourceVersion = query["resourceVersion"].ToString();
        var match = query["resourceVersionMatch"].ToString();
        if (match.Length > 0 && resourceVersion.Length == 0)
        {
            throw StatusBodies.BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided");
        }

        if (match.Length > 0 && match is not ("Exact" or "NotOlderThan"))
        {
            throw StatusBodies.BadRequest($"resourceVersionMatch: Unsupported value: \"{match}\": supported values: \"Exact\", \"NotOlderThan\"");
        }

        if (continueText.Length > 0 && resourceVersion.Length > 0 && resourceVersion != "0")
        {
            throw StatusBodies.BadRequest("specifying resource version is not allowed when using continue");
        }

        var keyOfName = route.Type.Namespaced && route.Namespace is not null;
        ListSnapshot snapshot;
        string? startKey = null;
        long pageRevision;
        if (continueText.Length > 0)
        {
            var token = ContinueToken.TryDecode(continueText) ?? throw StatusBodies.BadRequest($"continue key is not valid: invalid continue token");
            startKey = token.StartKey;
            if (token.ResourceVersion < 0)
            {
                // A token from a 410: continue on the current state, inconsistently, as the message warned.
                snapshot = _store.List(route.Type, route.Namespace);
                pageRevision = snapshot.Revision;
            }
            else
            {
                snapshot = _store.ListAt(route.Type, route.Namespace, token.ResourceVersion)
                    ?? throw StatusBodies.ContinueTooOld(new ContinueToken(-1, token.StartKey).Encode());
                pageRevision = token.ResourceVersion;
            }
        }
        else if (resourceVersion.Length > 0 && resourceVersion != "0")
        {
            if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var requested))
            {
                throw StatusBodies.BadRequest($"resourceVersion: Invalid value: \"{resourceVersion}\": must be a valid resource version");
            }

            var current = _store.CurrentRevision;
            if (requested > current)
            {
                throw StatusBodies.TooLargeResourceVersion(requested, current);
            }

            snapshot = match == "Exact"
                ? _store.ListAt(route.Type, route.Namespace, requested) ?? throw StatusBodies.ListTooOld()
                : _store.List(route.Type, route.Namespace);
            pageRevision = snapshot.Revision;
        }
        else
        {
            if (match == "Exact")
            {
                throw StatusBodies.BadRequest("resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
            }

            snapshot = _store.List(route.Type, route.Namespace);
            pageRevision = snapshot.Revision;

            // resourceVersion=0 is served from the watch cache, which ignores limit.
            if (resourceVersion == "0")
            {
                limit = 0;
            }
        }

        var items = snapshot.Items;
        var first = 0;
        if (startKey is not null)
        {
            while (first < items.Count && string.CompareOrdinal(KeyOf(items[first], keyOfName), startKey) < 0)
            {
                first++;
            }
        }

        var page = new List<StoredObject>();
        string? continueToken = null;
        long? remaining = null;
        for (var i = first; i < items.Count; i++)
        {
            var item = items[i];
            if (!filter.Matches(item))
            {
                continue;
            }

            page.Add(item);
            if (limit > 0 && page.Count == limit)
            {
                if (i + 1 < items.Count)
                {
                    continueToken = ContinueToken.After(pageRevision, KeyOf(item, keyOfName)).Encode();
                    if (filter.IsEverything)
                    {
                        remaining = items.Count - (i + 1);
                    }
                }

                break;
            }
        }

        await WriteListAsync(context, route.Type, page, pageRevision, continueToken, remaining, pretty).ConfigureAwait(false);
    }

    private static string KeyOf(StoredObject obj, bool nameOnly) => nameOnly ? obj.Name : obj.Key;

    private static async Task WriteListAsync(HttpContext context, ResourceType type, List<StoredObject> items, long revision, string? continueToken, long? remaining, bool pretty)
    {
        var metadata = new StringBuilder($"{{\"resourceVersion\":\"{revision.ToString(CultureInfo.InvariantCulture)}\"");
        if (continueToken is not null)
        {
            metadata.Append(",\"continue\":\"").Append(continueToken).Append('"');
        }

        if (remaining is not null)
        {
            metadata.Append(CultureInfo.InvariantCulture, $",\"remainingItemCount\":{remaining}");
        }

        metadata.Append('}');
        var size = 128 + items.Sum(i => i.Json.Length);
        var buffer = new ArrayBufferWriter<byte>(size);
        buffer.Write(Encoding.UTF8.GetBytes($"{{\"kind\":\"{type.ListKind}\",\"apiVersion\":\"{type.ApiVersion}\",\"metadata\":{metadata},\"items\":["));
        for (var i = 0; i < items.Count; i++)
        {
            buffer.Write(i == 0 ? "{"u8 : ",{"u8);
            buffer.Write(items[i].ItemTail.Span);
        }

        buffer.Write("]}"u8);
        await ResponseWriter.WriteBodyAsync(context, 200, buffer.WrittenMemory, pretty).ConfigureAwait(false);
    }

    private static WatchFilter Filter(ResourceType type, IQueryCollection query)
    {
        try
        {
            return new WatchFilter(LabelSelector.Parse(query["labelSelector"].ToString()), FieldSelector.Parse(query["fieldSelector"].ToString(), type));
        }
        catch (SelectorException e)
        {
            throw StatusBodies.BadRequest(e.Message);
        }
    }

    private async Task WatchAsync(HttpContext context, ApiRoute route)
    {
        var query = context.Request.Query;
        var filter = Filter(route.Type, query);
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

        var body = await ReadJsonAsync(context, patchTypes: false).ConfigureAwait(false);
        var node = DecodeWithFieldValidation(context, route.Type, body);
        var @namespace = route.Namespace ?? "";
        if (route.Type.Namespaced)
        {
            EnsureNamespaceExists(@namespace);
        }

        var stored = Create(route.Type, node, @namespace, Manager(context.Request), keepStatus: false);
        await ResponseWriter.WriteBodyAsync(context, 201, stored.Json, pretty).ConfigureAwait(false);
    }

    /// <summary>Creates an object; 409 AlreadyExists if the name is taken.</summary>
    internal StoredObject Create(ResourceType type, JsonObject decoded, string @namespace, string manager, bool keepStatus)
    {
        var metadata = decoded["metadata"] as JsonObject ?? [];
        decoded["metadata"] = metadata;
        var given = metadata["namespace"]?.GetValue<string>();
        if (type.Namespaced && !string.IsNullOrEmpty(given) && given != @namespace)
        {
            throw StatusBodies.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        // Naming happens before the write so the store can key it; generateName gets its suffix here.
        var prepared = _pipeline.PrepareCreate(type, (JsonObject)decoded.DeepClone(), @namespace, manager, 0, keepStatus);
        var name = prepared["metadata"]?["name"]?.GetValue<string>() ?? "";
        var result = _store.Write(type, @namespace, name, (existing, revision) =>
        {
            if (existing is not null)
            {
                throw StatusBodies.AlreadyExists(type, name);
            }

            var withName = (JsonObject)decoded.DeepClone();
            ((JsonObject)withName["metadata"]!)["name"] = name;
            return WriteDecision.Store(_pipeline.PrepareCreate(type, withName, @namespace, manager, revision, keepStatus));
        });
        return result.Stored!;
    }

    /// <summary>Decodes a body, applying <c>fieldValidation</c>: Strict rejects unknown fields with 400, Warn answers with Warning headers.</summary>
    private static JsonObject DecodeWithFieldValidation(HttpContext context, ResourceType type, JsonNode? body)
    {
        var mode = context.Request.Query["fieldValidation"].ToString();
        if (mode.Length > 0 && mode is not ("Strict" or "Warn" or "Ignore"))
        {
            throw StatusBodies.BadRequest($"fieldValidation: Unsupported value: \"{mode}\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
        }

        var unknown = mode is "Strict" or "Warn" ? new List<string>() : null;
        var node = ObjectPipeline.Decode(type, body, unknown);
        if (unknown is { Count: > 0 })
        {
            if (mode == "Strict")
            {
                throw StatusBodies.BadRequest("strict decoding error: " + string.Join(", ", unknown.Select(f => $"unknown field \"{f}\"")));
            }

            context.Response.Headers.Append("Warning", unknown.Select(f => $"299 - \"unknown field \\\"{f}\\\"\"").ToArray());
        }

        return node;
    }

    private void EnsureNamespaceExists(string @namespace)
    {
        if (_store.Get(ResourceTypes.Namespaces, "", @namespace) is null)
        {
            throw StatusBodies.NamespaceNotFound(@namespace);
        }
    }

    private async Task UpdateAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        var body = await ReadJsonAsync(context, patchTypes: false).ConfigureAwait(false);
        var node = DecodeWithFieldValidation(context, route.Type, body);
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

        var (stored, created) = Update(route.Type, node, @namespace, route.Name!, Manager(context.Request), route.Subresource == "status", checkResourceVersion: true);
        await ResponseWriter.WriteBodyAsync(context, created ? 201 : 200, stored.Json, pretty).ConfigureAwait(false);
    }

    /// <summary>Replaces an object (or creates it where the resource allows that).</summary>
    internal (StoredObject Stored, bool Created) Update(ResourceType type, JsonObject decoded, string @namespace, string name, string manager, bool statusOnly, bool checkResourceVersion, bool allowCreate = false)
    {
        var bodyRevision = decoded["metadata"]?["resourceVersion"]?.GetValue<string>();
        var created = false;
        var result = _store.Write(type, @namespace, name, (existing, revision) =>
        {
            if (existing is null)
            {
                if (!(allowCreate || (type.AllowCreateOnUpdate && !statusOnly)))
                {
                    throw StatusBodies.NotFound(type, name);
                }

                if (type.Namespaced && _store.Get(ResourceTypes.Namespaces, "", @namespace) is null)
                {
                    throw StatusBodies.NamespaceNotFound(@namespace);
                }

                created = true;
                return WriteDecision.Store(_pipeline.PrepareCreate(type, (JsonObject)decoded.DeepClone(), @namespace, manager, revision, keepStatus: allowCreate));
            }

            if (checkResourceVersion && !string.IsNullOrEmpty(bodyRevision) && bodyRevision != ObjectStore.Format(existing.ResourceVersion))
            {
                throw StatusBodies.Conflict(type, name);
            }

            var next = (JsonObject)decoded.DeepClone();
            if (statusOnly)
            {
                // The status subresource changes only status; everything else stays as stored.
                var merged = (JsonObject)existing.Node.DeepClone();
                merged["status"] = next["status"]?.DeepClone();
                next = merged;
            }

            var prepared = _pipeline.PrepareUpdate(type, next, existing, manager, revision, keepStatus: statusOnly || allowCreate);
            return prepared is null ? WriteDecision.Unchanged() : WriteDecision.Store(prepared);
        });
        return (result.Stored!, created);
    }

    private async Task PatchAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        var contentType = context.Request.ContentType ?? "";
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not ("application/merge-patch+json" or "application/json-patch+json" or "application/strategic-merge-patch+json"))
        {
            throw StatusBodies.UnsupportedMediaType(contentType);
        }

        var patch = await ReadJsonAsync(context, patchTypes: true).ConfigureAwait(false);
        var @namespace = route.Namespace ?? "";
        var name = route.Name!;
        var type = route.Type;
        var manager = Manager(context.Request);
        var statusOnly = route.Subresource == "status";
        var result = _store.Write(type, @namespace, name, (existing, revision) =>
        {
            if (existing is null)
            {
                throw StatusBodies.NotFound(type, name);
            }

            JsonNode? patched;
            try
            {
                var current = existing.Node.DeepClone();
                patched = mediaType == "application/json-patch+json" ? JsonPatch.Apply(current, patch) : MergePatch.Apply(current, patch);
            }
            catch (JsonPatchException e)
            {
                throw new ApiException(422, StatusBodies.Failure(422, "Invalid", e.Message, null));
            }
            catch (InvalidOperationException e)
            {
                throw new ApiException(422, StatusBodies.Failure(422, "Invalid", e.Message, null));
            }

            var decoded = ObjectPipeline.Decode(type, patched);
            var patchedRevision = decoded["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(patchedRevision) && patchedRevision != ObjectStore.Format(existing.ResourceVersion))
            {
                throw StatusBodies.Conflict(type, name);
            }

            if ((decoded["metadata"]?["name"]?.GetValue<string>() ?? "") != name)
            {
                throw StatusBodies.BadRequest($"the name of the object ({decoded["metadata"]?["name"]}) does not match the name on the URL ({name})");
            }

            if (statusOnly)
            {
                var merged = (JsonObject)existing.Node.DeepClone();
                merged["status"] = decoded["status"]?.DeepClone();
                decoded = merged;
            }

            var prepared = _pipeline.PrepareUpdate(type, decoded, existing, manager, revision, keepStatus: statusOnly);
            return prepared is null ? WriteDecision.Unchanged() : WriteDecision.Store(prepared);
        });
        await ResponseWriter.WriteBodyAsync(context, 200, result.Stored!.Json, pretty).ConfigureAwait(false);
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
            var options = await ReadJsonAsync(context, patchTypes: false, allowEmpty: true).ConfigureAwait(false);
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

        var deleted = Delete(route.Type, route.Namespace ?? "", route.Name!, preconditionRevision, preconditionUid)
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

    /// <summary>Deletes an object (a namespace with everything in it); null when it does not exist.</summary>
    internal StoredObject? Delete(ResourceType type, string @namespace, string name, string? preconditionRevision = null, string? preconditionUid = null)
    {
        if (type == ResourceTypes.Namespaces && _store.Get(type, "", name) is not null)
        {
            foreach (var contained in ResourceTypes.All.Where(t => t.Namespaced))
            {
                foreach (var obj in _store.List(contained, name).Items)
                {
                    _store.Write(contained, name, obj.Name, (_, _) => WriteDecision.Delete());
                }
            }
        }

        var result = _store.Write(type, @namespace, name, (existing, _) =>
        {
            if (existing is not null && preconditionRevision is not null && preconditionRevision != ObjectStore.Format(existing.ResourceVersion))
            {
                throw StatusBodies.PreconditionConflict(type, name, $"the ResourceVersion in the precondition ({preconditionRevision}) does not match the ResourceVersion in record ({existing.ResourceVersion}). The object might have been modified");
            }

            if (existing is not null && preconditionUid is not null && preconditionUid != existing.Uid)
            {
                throw StatusBodies.PreconditionConflict(type, name, $"the UID in the precondition ({preconditionUid}) does not match the UID in record ({existing.Uid}). The object might have been replaced");
            }

            return WriteDecision.Delete();
        });
        return result.Previous;
    }

    private async Task DeleteCollectionAsync(HttpContext context, ApiRoute route, bool pretty)
    {
        var filter = Filter(route.Type, context.Request.Query);
        var deleted = new List<StoredObject>();
        foreach (var obj in _store.List(route.Type, route.Namespace).Items)
        {
            if (filter.Matches(obj) && Delete(route.Type, obj.Namespace, obj.Name) is { } gone)
            {
                deleted.Add(gone);
            }
        }

        await WriteListAsync(context, route.Type, deleted, _store.CurrentRevision, null, null, pretty).ConfigureAwait(false);
    }

    private static string? StringOrNull(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw StatusBodies.BadRequest("json: cannot unmarshal non-string into Go struct field Preconditions of type string"),
    };

    private static string Manager(HttpRequest request)
    {
        var fieldManager = request.Query["fieldManager"].ToString();
        if (fieldManager.Length > 0)
        {
            return fieldManager;
        }

        // The real server names the manager after the User-Agent's product ("kubernetes-csharp").
        return request.Headers.UserAgent.ToString().Split('/')[0];
    }

    private async Task<JsonNode?> ReadJsonAsync(HttpContext context, bool patchTypes, bool allowEmpty = false)
    {
        var request = context.Request;
        var limit = _options.MaxRequestBodyBytes;
        if (request.ContentLength > limit)
        {
            throw StatusBodies.RequestEntityTooLarge(limit);
        }

        if (!patchTypes)
        {
            var mediaType = (request.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
            if (mediaType is not ("application/json" or "" or "*/*"))
            {
                throw new ApiException(415, StatusBodies.Failure(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf", null));
            }
        }

        var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw StatusBodies.RequestEntityTooLarge(limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        if (buffer.Length == 0)
        {
            if (allowEmpty)
            {
                return null;
            }

            throw StatusBodies.BadRequest("the request body is empty; a JSON object is required");
        }

        try
        {
            return JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), WireJson.NodeOptions, WireJson.DocumentOptions);
        }
        catch (JsonException e)
        {
            throw StatusBodies.BadRequest($"couldn't get version/kind; json parse error: {e.Message}");
        }
    }
}
