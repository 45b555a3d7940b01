namespace Discovery.Internal;

/// <summary>
/// What discovery keeps of one Service instead of the client's typed object: the <see cref="KubernetesServiceInfo"/>
/// snapshots publish, and what was left out of the object. Immutable.
/// </summary>
/// <param name="Info">The Service's relevant parts.</param>
/// <param name="Issues">What was left out of the Service (logged by the watcher that uses it), or <see langword="null"/>.</param>
internal sealed record ServiceProjection(KubernetesServiceInfo Info, ObjectIssues? Issues);
