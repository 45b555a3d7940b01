namespace Discovery.Http;

/// <summary>
/// The retry decision step: how an attempt ended, whether it counts against its endpoint, and whether the request may go to
/// another endpoint. A request is sent again only when its content can be re-sent; after it may have reached the endpoint
/// (an error, a timeout, a 502/503/504) only when its method is idempotent.
/// </summary>
internal static class RetryDecision
{
    /// <summary>The outcome of an attempt that produced a response.</summary>
    public static AttemptOutcome OutcomeOf(HttpResponseMessage response)
        => IsSuccess(response) ? AttemptOutcome.Success : AttemptOutcome.ServerError;

    /// <summary>Whether a response counts as a success (below 500).</summary>
    public static bool IsSuccess(HttpResponseMessage response) => (int)response.StatusCode < 500;

    /// <summary>The outcome of an attempt that threw <paramref name="error"/>.</summary>
    public static AttemptOutcome OutcomeOf(Exception error, in ServiceRequest request)
    {
        // Only the endpoint's own failures count against it: when the caller's token ended the wait (its own cancellation,
        // HttpClient.Timeout, a hedging attempt that lost), the endpoint was not at fault.
        return error is OperationCanceledException && request.CancellationToken.IsCancellationRequested
            ? AttemptOutcome.Canceled
            : AttemptOutcomeClassifier.Classify(error);
    }

    /// <summary>
    /// Records that the request's destination failed it (unless the failure was not the endpoint's: TLS, the caller's
    /// cancellation), so that our retries and those of outer handlers re-sending the same message go elsewhere.
    /// </summary>
    public static void RecordFailedEndpoint(DiscoveryClient client, in ServiceRequest request, AttemptOutcome outcome)
    {
        if (outcome is not (AttemptOutcome.TlsFailure or AttemptOutcome.Canceled))
        {
            var failed = client.GetFailedEndpoints(request.Message) ?? client.AddFailedEndpoints(request.Message);
            failed.Add(request.Destination.Authority);
        }
    }

    /// <summary>Whether the request may be tried again on another endpoint after <paramref name="outcome"/>.</summary>
    public static bool MayRetry(DiscoveryClient client, in ServiceRequest request, AttemptOutcome outcome, HttpResponseMessage? response)
    {
        if (request.CancellationToken.IsCancellationRequested || !AttemptOutcomeClassifier.IsResendable(request.Message.Content))
        {
            return false;
        }

        var options = client.Options;
        var method = request.Message.Method;
        return outcome switch
        {
            AttemptOutcome.ConnectFailure => request.ConnectRetries < options.MaxConnectFailureRetries,
            AttemptOutcome.ServerError => request.SendRetries < options.MaxRetriesAfterSend
                && AttemptOutcomeClassifier.IsRetryableStatus(response is null ? 0 : (int)response.StatusCode)
                && AttemptOutcomeClassifier.IsIdempotent(method),
            AttemptOutcome.Timeout or AttemptOutcome.FailureAfterSend => request.SendRetries < options.MaxRetriesAfterSend
                && AttemptOutcomeClassifier.IsIdempotent(method),
            _ => false,
        };
    }
}
