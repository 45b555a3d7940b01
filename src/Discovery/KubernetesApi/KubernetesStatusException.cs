namespace Discovery.Internal;

/// <summary>
/// The API server refused a request (HTTP status) or ended a watch with an ERROR event; both carry a Status code.
/// One type for both lets the watch loop treat "410 as HTTP status" and "410 as ERROR event" the same way.
/// </summary>
internal sealed class KubernetesStatusException : Exception
{
    public KubernetesStatusException(int statusCode, string? reason, string? serverMessage, Exception? innerException = null, string? verb = null)
        : base($"The Kubernetes API answered {statusCode}{(reason is null ? string.Empty : " " + reason)}{(serverMessage is null ? string.Empty : ": " + serverMessage)}", innerException)
    {
        StatusCode = statusCode;
        Reason = reason;
        ServerMessage = serverMessage;
        Verb = verb;
    }

    /// <summary>The verb of the refused request (<c>get</c>, <c>list</c>, <c>watch</c>), when known.</summary>
    public string? Verb { get; }

    public int StatusCode { get; }

    public string? Reason { get; }

    public string? ServerMessage { get; }

    public bool IsGone => StatusCode == 410;

    public bool IsForbidden => StatusCode == 403;

    public bool IsNotFound => StatusCode == 404;
}
