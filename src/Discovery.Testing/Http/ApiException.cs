using System.Text.Json.Nodes;

namespace Discovery.Testing.Http;

/// <summary>An error answered with a Kubernetes Status body.</summary>
internal sealed class ApiException : Exception
{
    public ApiException(int statusCode, JsonObject status)
        : base(status["message"]?.GetValue<string>() ?? $"HTTP {statusCode}")
    {
        StatusCode = statusCode;
        Status = status;
    }

    public ApiException()
        : this(500, StatusBodies.Failure(500, "InternalError", "internal error", null))
    {
    }

    public ApiException(string message)
        : this(500, StatusBodies.Failure(500, "InternalError", message, null))
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = 500;
        Status = StatusBodies.Failure(500, "InternalError", message, null);
    }

    public int StatusCode { get; }

    public JsonObject Status { get; }
}
