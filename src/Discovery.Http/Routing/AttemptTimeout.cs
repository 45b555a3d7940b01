namespace Discovery.Http;

/// <summary>
/// The per-attempt timeout (<see cref="DiscoveryHttpClientOptions.AttemptTimeout"/>) on the client's clock, linked to the
/// caller's token. Its expiry is the endpoint's failure (it counts against its health); the caller's cancellation is not.
/// </summary>
/// <remarks>A struct owning two token sources; dispose it once the attempt's response (or failure) is there.</remarks>
internal readonly struct AttemptTimeout : IDisposable
{
    private readonly CancellationTokenSource? _timer;
    private readonly CancellationTokenSource? _linked;

    private AttemptTimeout(CancellationTokenSource timer, CancellationTokenSource linked)
    {
        _timer = timer;
        _linked = linked;
    }

    /// <summary>Starts the timeout when the client has one; otherwise nothing.</summary>
    public static AttemptTimeout Start(DiscoveryClient client, CancellationToken caller)
    {
        if (client.Options.AttemptTimeout is not { } timeout)
        {
            return default;
        }

        var timer = new CancellationTokenSource(timeout, client.TimeProvider);
        return new AttemptTimeout(timer, CancellationTokenSource.CreateLinkedTokenSource(caller, timer.Token));
    }

    /// <summary>The token the attempt is sent with: the linked one, or the caller's when there is no timeout.</summary>
    public CancellationToken TokenOr(CancellationToken caller) => _linked?.Token ?? caller;

    public void Dispose()
    {
        _linked?.Dispose();
        _timer?.Dispose();
    }
}
