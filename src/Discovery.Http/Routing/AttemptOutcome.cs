namespace Discovery.Http;

/// <summary>How one attempt of a request on one endpoint ended.</summary>
internal enum AttemptOutcome
{
    /// <summary>A response below 500.</summary>
    Success,

    /// <summary>A 5xx response.</summary>
    ServerError,

    /// <summary>The connection could not be established: nothing was sent.</summary>
    ConnectFailure,

    /// <summary>The attempt's own timeout (<see cref="DiscoveryHttpClientOptions.AttemptTimeout"/>) expired while waiting on the endpoint.</summary>
    Timeout,

    /// <summary>The connection failed after the request may have been sent.</summary>
    FailureAfterSend,

    /// <summary>The TLS handshake failed: a configuration problem, not the endpoint's health.</summary>
    TlsFailure,

    /// <summary>
    /// The caller gave up: its token was cancelled (its own cancellation, <c>HttpClient.Timeout</c>, an outer attempt timeout,
    /// a hedging attempt that lost). Says nothing about the endpoint: no ejection, no latency sample, no retry.
    /// </summary>
    Canceled,
}
