using k8s;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>
/// What one informer keeps of the objects its server sends: whether an object belongs to the query (others are skipped and
/// logged once), what is held of it, and the store version a list or a watch event leads to. Pure data work — no I/O, no
/// locks: only the informer's own task calls it, and the informer publishes what it returns.
/// </summary>
internal sealed class InformerIntake(ServiceKey service, WatcherContext context)
{
    private readonly RejectionLog _rejections = new(context.Logger, service);
    private ObjectFilter _filter = null!;
    private ResourceQuery _query = null!;

    /// <summary>The query objects are admitted for from now on (set at the start, and when the informer falls back).</summary>
    public ResourceQuery Query
    {
        set
        {
            _query = value;
            _filter = new ObjectFilter(value);
        }
    }

    /// <summary>
    /// The store a list leads to, as one whole new version (objects without a name, or not matching, are left out);
    /// <paramref name="previous"/> lends its unchanged endpoint instances.
    /// </summary>
    public InformerStore FromList(IReadOnlyList<IKubernetesObject<V1ObjectMeta>?> items, InformerStore previous)
    {
        var builder = InformerStore.CreateBuilder();
        foreach (var item in items)
        {
            if (item?.Metadata?.Name is { Length: > 0 } name && Admits(item.Metadata, out _))
            {
                builder[name] = Project(item, previous, name, context.Strings);
            }
        }

        return InformerStore.FromList(_query.Resource, builder);
    }

    /// <summary>
    /// The store an event on the object named <paramref name="name"/> leads to, and what kind of change it is; the same
    /// instance as <paramref name="store"/> when nothing held changes.
    /// </summary>
    public (InformerStore Updated, InformerChangeKind Kind) Apply(WatchEventType type, IKubernetesObject<V1ObjectMeta> item, string name, InformerStore store)
    {
        if (!Admits(item.Metadata, out var otherObject))
        {
            // Another namespace's object is not the one held under this name: leave that alone. The same object no longer
            // matching (a slice relabelled to another Service) is what a server reports as DELETED: what it held is no
            // longer this Service's, and keeping it would send this Service's requests to another Service's pods.
            return (otherObject ? store : store.Without(name), InformerChangeKind.Removed);
        }

        return type switch
        {
            WatchEventType.Added or WatchEventType.Modified => (store.With(name, Project(item, store, name, context.Strings)), InformerChangeKind.Updated),
            WatchEventType.Deleted => (store.Without(name), InformerChangeKind.Removed),
            _ => (store, InformerChangeKind.Removed),
        };
    }

    /// <summary>
    /// What is held of an object (the type <see cref="InformerStore"/> reads back): a namespace-wide watch holds every
    /// Service and EndpointSlice of the namespace, so those are projected onto the few fields discovery reads (the version
    /// held so far in <paramref name="previous"/> lends its unchanged endpoint instances); other kinds are kept typed,
    /// without the metadata discovery never reads (managedFields and annotations are often most of an object's size).
    /// </summary>
    private static object Project(IKubernetesObject<V1ObjectMeta> item, InformerStore previous, string name, StringPool strings)
    {
        switch (item)
        {
            case V1Service service:
                return KubernetesObjectConverter.ProjectService(service, strings);
            case V1EndpointSlice slice:
                return KubernetesObjectConverter.ProjectSlice(slice, previous.FindSlice(name), strings);
            default:
                item.Metadata.ManagedFields = null;
                item.Metadata.Annotations = null;
                return item;
        }
    }

    private bool Admits(V1ObjectMeta metadata, out bool otherObject)
    {
        if (_filter.Reject(metadata, out otherObject) is not { } reason)
        {
            return true;
        }

        _rejections.ObjectSkipped(_query.Kind, metadata, reason);
        return false;
    }
}
