using k8s;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>The items of a list response and the resourceVersion a watch continues from.</summary>
internal sealed record ResourceListResult(IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Items, string? ResourceVersion);
