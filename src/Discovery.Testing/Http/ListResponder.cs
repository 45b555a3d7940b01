using System.Buffers;
using System.Globalization;
using System.Text;
using Discovery.Testing.Selectors;
using Discovery.Testing.Store;
using Discovery.Testing.Wire;
using Microsoft.AspNetCore.Http;

namespace Discovery.Testing.Http;

/// <summary>
/// Answers list requests: resourceVersion and resourceVersionMatch semantics, continue tokens and limits (with the watch
/// cache's habit of ignoring limit at resourceVersion=0), label and field selectors, and the list body.
/// </summary>
internal sealed class ListResponder
{
    private readonly ObjectStore _store;
    private readonly EmulatorFaults _faults;

    public ListResponder(ObjectStore store, EmulatorFaults faults)
    {
        _store = store;
        _faults = faults;
    }

    public async Task ListAsync(HttpContext context, ApiRoute route, bool pretty)
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

    internal static async Task WriteListAsync(HttpContext context, ResourceType type, List<StoredObject> items, long revision, string? continueToken, long? remaining, bool pretty)
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

    internal static WatchFilter Filter(ResourceType type, IQueryCollection query)
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
}
