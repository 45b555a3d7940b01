namespace Discovery.Internal;

/// <summary>
/// A list request took longer than <see cref="KubernetesDiscoveryOptions.RequestTimeout"/> and was abandoned. Not an
/// <see cref="OperationCanceledException"/>, so that the retry pipeline treats it as a transient failure (back-off, log,
/// reconnect metric) rather than as the watcher stopping.
/// </summary>
internal sealed class RequestTimedOutException(string request, TimeSpan timeout, Exception innerException)
    : TimeoutException($"The request to {request} did not complete within {timeout.TotalSeconds:0.###} s (Discovery:RequestTimeout).", innerException);
