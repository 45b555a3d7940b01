using System.Collections.Immutable;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>
/// One immutable version of what a <see cref="ResourceInformer"/> holds, keyed by object name, with the resource its list
/// came from. Each resource has one held type — Services as <see cref="ServiceProjection"/>, EndpointSlices as
/// <see cref="EndpointSliceProjection"/>, Endpoints as <see cref="V1Endpoints"/> and Pods as <see cref="V1Pod"/> (trimmed) —
/// and the typed accessors below are the only place that knows it: owners never downcast.
/// </summary>
internal sealed class InformerStore
{
    private readonly ImmutableDictionary<string, object> _items;

    private InformerStore(WatchedResource resource, ImmutableDictionary<string, object> items)
    {
        Resource = resource;
        _items = items;
    }

    /// <summary>The resource whose objects this store holds (an informer that falls back changes it at its next list).</summary>
    public WatchedResource Resource { get; }

    public int Count => _items.Count;

    public static InformerStore Empty(WatchedResource resource)
        => new(resource, ImmutableDictionary<string, object>.Empty.WithComparers(StringComparer.Ordinal));

    /// <summary>The Service named <paramref name="name"/>, when this store holds Services.</summary>
    public ServiceProjection? FindService(string name) => Get<ServiceProjection>(WatchedResource.Services, name);

    /// <summary>The EndpointSlice named <paramref name="name"/>, when this store holds EndpointSlices.</summary>
    public EndpointSliceProjection? FindSlice(string name) => Get<EndpointSliceProjection>(WatchedResource.EndpointSlices, name);

    /// <summary>Every EndpointSlice held (empty unless this store holds EndpointSlices).</summary>
    public IEnumerable<EndpointSliceProjection> Slices => All<EndpointSliceProjection>(WatchedResource.EndpointSlices);

    /// <summary>Every Endpoints object held (empty unless this store holds Endpoints).</summary>
    public IEnumerable<V1Endpoints> Endpoints => All<V1Endpoints>(WatchedResource.Endpoints);

    /// <summary>Every Pod held (empty unless this store holds Pods).</summary>
    public IEnumerable<V1Pod> Pods => All<V1Pod>(WatchedResource.Pods);

    /// <summary>The held value under <paramref name="name"/>, for the informer to lend to the next version's projection.</summary>
    internal object? GetHeld(string name) => _items.GetValueOrDefault(name);

    /// <summary>This store with <paramref name="held"/> under <paramref name="name"/> (the informer's projection of an event).</summary>
    internal InformerStore With(string name, object held) => new(Resource, _items.SetItem(name, held));

    /// <summary>This store without <paramref name="name"/>; the same instance when it held nothing under that name.</summary>
    internal InformerStore Without(string name)
    {
        var items = _items.Remove(name);
        return ReferenceEquals(items, _items) ? this : new InformerStore(Resource, items);
    }

    /// <summary>A whole new version from a list (held values projected by the informer).</summary>
    internal static InformerStore FromList(WatchedResource resource, ImmutableDictionary<string, object>.Builder items)
        => new(resource, items.ToImmutable());

    internal static ImmutableDictionary<string, object>.Builder CreateBuilder()
        => ImmutableDictionary.CreateBuilder<string, object>(StringComparer.Ordinal);

    private T? Get<T>(WatchedResource resource, string name)
        where T : class
        => Resource == resource && _items.TryGetValue(name, out var item) ? (T)item : null;

    private IEnumerable<T> All<T>(WatchedResource resource)
        => Resource == resource ? _items.Values.Cast<T>() : [];
}
