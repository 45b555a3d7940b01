using k8s.Models;

namespace Discovery.Internal;

/// <summary>
/// The few API calls discovery makes, in front of <c>IKubernetes</c> so the watch engine can be tested with scripted
/// streams (a mocked client cannot produce a watch stream).
/// </summary>
/// <remarks>
/// Errors: a refused request or an ERROR event throws <see cref="KubernetesStatusException"/>; a watch the server ends
/// (with or without lines) completes normally; a malformed line goes to the callback and reading continues.
/// </remarks>
internal interface IKubernetesResourceApi
{
    Task<ResourceListResult> ListAsync(ResourceQuery query, CancellationToken cancellationToken);

    IAsyncEnumerable<ResourceEvent> WatchAsync(ResourceQuery query, string resourceVersion, int timeoutSeconds, Action<Exception> onMalformedEvent, CancellationToken cancellationToken);

    Task<IReadOnlyList<V1Node>> ListNodesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Whether RBAC lets the app <paramref name="verb"/> (<c>get</c>, <c>list</c> or <c>watch</c>) <paramref name="resource"/> in
    /// <paramref name="namespace"/>, found by trying the call cheaply (a get of <paramref name="name"/>, a list of it, a watch
    /// closed once answered). <see langword="null"/> when the resource is not served (404 to a list or watch).
    /// </summary>
    /// <exception cref="KubernetesStatusException">Any other refusal or failure (the answer is unknown).</exception>
    Task<bool?> IsAllowedAsync(WatchedResource resource, string @namespace, string name, string verb, CancellationToken cancellationToken);
}
