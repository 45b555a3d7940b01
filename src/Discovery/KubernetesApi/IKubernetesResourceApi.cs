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

    /// <summary>Reads one node (<c>get nodes/&lt;name&gt;</c>), for the zone label of the node the application runs on.</summary>
    Task<V1Node> ReadNodeAsync(string name, CancellationToken cancellationToken);
}
