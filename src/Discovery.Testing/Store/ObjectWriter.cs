using System.Text.Json.Nodes;
using Discovery.Testing.Http;
using Discovery.Testing.Wire;

namespace Discovery.Testing.Store;

/// <summary>
/// The write semantics of the API: create, replace, patch and delete of decoded objects, with the checks a real API server
/// makes (name and namespace agreement, resourceVersion and UID preconditions, create-on-update where the resource allows
/// it, a namespace's contents deleted with it). Shared by the HTTP layer and by <see cref="KubernetesApiEmulator"/>'s own
/// methods, so both write the same way. Failures are thrown as <see cref="ApiException"/> carrying the Status the server
/// would answer.
/// </summary>
/// <remarks>Thread-safe: every write goes through <see cref="ObjectStore.Write"/>, which serialises writes to one object.</remarks>
internal sealed class ObjectWriter
{
    private readonly ObjectStore _store;
    private readonly ObjectPipeline _pipeline;

    public ObjectWriter(ObjectStore store, ObjectPipeline pipeline)
    {
        _store = store;
        _pipeline = pipeline;
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

                if (type.Namespaced)
                {
                    EnsureNamespaceExists(@namespace);
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

    /// <summary>Applies a JSON patch or a merge patch (strategic merge is treated as a merge patch) to a stored object.</summary>
    internal StoredObject Patch(ResourceType type, string @namespace, string name, JsonNode? patch, bool jsonPatch, string manager, bool statusOnly)
    {
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
                patched = jsonPatch ? JsonPatch.Apply(current, patch) : MergePatch.Apply(current, patch);
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
        return result.Stored!;
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

    /// <summary>Throws the 404 a real server answers for a write into a namespace that does not exist.</summary>
    internal void EnsureNamespaceExists(string @namespace)
    {
        if (_store.Get(ResourceTypes.Namespaces, "", @namespace) is null)
        {
            throw StatusBodies.NamespaceNotFound(@namespace);
        }
    }
}
