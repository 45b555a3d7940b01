using k8s;
using k8s.Models;

namespace Discovery.Internal;

/// <summary>One watch event (ADDED, MODIFIED, DELETED or BOOKMARK) with its object.</summary>
internal readonly record struct ResourceEvent(WatchEventType Type, IKubernetesObject<V1ObjectMeta> Object);
