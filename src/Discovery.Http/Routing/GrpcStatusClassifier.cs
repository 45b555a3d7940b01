using System.Net.Http.Headers;

namespace Discovery.Http;

/// <summary>
/// Reads the outcome of a gRPC call from its response: the HTTP status of a gRPC response is 200 whatever happened, and the
/// call's status is the <c>grpc-status</c> header (a trailers-only response) or trailer.
/// </summary>
/// <remarks>
/// Only <c>UNAVAILABLE</c> (14) says the endpoint, not the call, failed: the server is shutting down, overloaded or cannot serve
/// (grpc-dotnet and Kestrel answer it so while stopping). Every other code is the call's own outcome — a bad argument, a missing
/// method, the caller's deadline, a server exception for this input — and never counts against the endpoint. A body cut off
/// before its trailers is a connection failure, as for any HTTP response.
/// </remarks>
internal static class GrpcStatusClassifier
{
    private const string GrpcStatusHeader = "grpc-status";
    private const string GrpcContentType = "application/grpc";
    private const int Unavailable = 14;

    /// <summary>Whether the response is a gRPC one (<c>content-type: application/grpc</c>, <c>application/grpc+proto</c>, …).</summary>
    public static bool IsGrpc(HttpResponseMessage response)
    {
        // NonValidated: no parsing, no allocation for the common non-gRPC response.
        if (response.Content is not { } content || !content.Headers.NonValidated.TryGetValues("Content-Type", out var values))
        {
            return false;
        }

        foreach (var value in values)
        {
            if (value.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads <c>grpc-status</c> from headers or trailers.</summary>
    public static bool TryGetStatus(HttpHeaders headers, out int status)
    {
        status = 0;
        if (!headers.NonValidated.TryGetValues(GrpcStatusHeader, out var values))
        {
            return false;
        }

        foreach (var value in values)
        {
            return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out status);
        }

        return false;
    }

    /// <summary>The attempt outcome a gRPC status means for the endpoint.</summary>
    public static AttemptOutcome OutcomeOf(int status) => status == Unavailable ? AttemptOutcome.ServerError : AttemptOutcome.Success;
}
