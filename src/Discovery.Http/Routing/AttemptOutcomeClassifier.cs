using System.Net.Http.Json;
using System.Net.Sockets;

namespace Discovery.Http;

/// <summary>Tells from an exception whether a request reached its endpoint, and whether it may be sent again.</summary>
internal static class AttemptOutcomeClassifier
{
    public static AttemptOutcome Classify(Exception exception)
    {
        switch (exception)
        {
            case OperationCanceledException:
                // The handler tells the caller's cancellation (AttemptOutcome.Canceled) apart first; what is left is our own
                // attempt timeout or a transport timeout: the endpoint did not answer in time.
                return AttemptOutcome.Timeout;
            case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }:
                return AttemptOutcome.ConnectFailure;
            case HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }:
                return AttemptOutcome.TlsFailure;
            case HttpRequestException { InnerException: SocketException socket } when IsConnectError(socket.SocketErrorCode):
                return AttemptOutcome.ConnectFailure;
            default:
                return AttemptOutcome.FailureAfterSend;
        }
    }

    /// <summary>Whether the method is idempotent (RFC 9110 §9.2.2), so that sending it twice is safe.</summary>
    public static bool IsIdempotent(HttpMethod method)
        => method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options
        || method == HttpMethod.Put || method == HttpMethod.Delete || method == HttpMethod.Trace;

    /// <summary>Whether the content can be sent again: none, or content that holds its bytes (or its value) rather than a one-shot stream.</summary>
    public static bool IsResendable(HttpContent? content)
    {
        switch (content)
        {
            case null:
            case ByteArrayContent: // also StringContent, FormUrlEncodedContent
            case ReadOnlyMemoryContent:
            case JsonContent:
                return true;
            case MultipartContent multipart:
                foreach (var part in multipart)
                {
                    if (!IsResendable(part))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Whether a 5xx status means the request may succeed elsewhere.</summary>
    public static bool IsRetryableStatus(int statusCode) => statusCode is 502 or 503 or 504;

    private static bool IsConnectError(SocketError error) => error
        is SocketError.ConnectionRefused
        or SocketError.HostUnreachable
        or SocketError.NetworkUnreachable
        or SocketError.HostNotFound
        or SocketError.AddressNotAvailable;
}
