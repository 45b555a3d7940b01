using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Http;

/// <summary>
/// Sends each request whose host names a Kubernetes Service to one ready endpoint of it, picked by a load-balancing policy,
/// and leaves every other request untouched. <c>AddKubernetesDiscovery()</c> adds it to every <c>IHttpClientFactory</c> client.
/// </summary>
/// <remarks>
/// For the duration of the send the request URI names the endpoint (<c>http://10.1.2.3:8080/path?query</c>) and the Host header
/// keeps the original host; both are restored before the send returns, so outer handlers and retries see the request as written.
/// <para>
/// The request path is a short pipeline of steps, each a type of its own, sharing one per-request value
/// (<see cref="ServiceRequest"/>): route (<see cref="RequestRouter"/>) → snapshot (<see cref="SnapshotLookup"/>) → pick
/// (<see cref="EndpointPicker"/>) → rewrite (<see cref="RequestRewriter"/>) → send and observe (<see cref="AttemptObserver"/>) →
/// retry decision (<see cref="RetryDecision"/>). This class only sequences them and sends.
/// </para>
/// </remarks>
public sealed class DiscoveryHttpHandler : DelegatingHandler
{
    private readonly DiscoveryClient _client;
    private readonly DiscoveryHttpMetrics? _ownedMetrics;

    /// <summary>Creates a handler outside <c>IHttpClientFactory</c>, with its own load-balancing state.</summary>
    /// <param name="resolver">The endpoint resolver of the discovery core.</param>
    /// <param name="parser">The host parser of the discovery core.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to log; nowhere when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock of the request path (latency, ejection back-off, attempt timeouts); <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="meterFactory">Creates the <c>Discovery.Http</c> meter; a standalone meter when <see langword="null"/>.</param>
    /// <param name="defaultPortName">The port name used when a request names none and the Service has several.</param>
    public DiscoveryHttpHandler(
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        DiscoveryHttpClientOptions? options = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null,
        string? defaultPortName = null)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(parser);
        options ??= new DiscoveryHttpClientOptions();
        _ownedMetrics = new DiscoveryHttpMetrics(meterFactory);
        _client = new DiscoveryClient(
            string.Empty,
            options,
            options.Policy ?? LoadBalancingPolicyResolver.BuiltIn(options.LoadBalancingPolicy),
            resolver,
            parser,
            defaultPortName,
            timeProvider ?? TimeProvider.System,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DiscoveryHttpHandler>(),
            _ownedMetrics);
    }

    internal DiscoveryHttpHandler(DiscoveryClient client)
    {
        _client = client;
    }

    internal DiscoveryClient Client => _client;

    /// <inheritdoc/>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The synchronous API has no synchronous snapshot wait or retry path of its own; the asynchronous one is the only
        // implementation, so that both behave the same.
        return SendAsync(request, cancellationToken).GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri;
        return RequestRouter.Route(_client, uri, out var entry) switch
        {
            RequestRoute.Service => SendToService(request, uri!, entry!, cancellationToken),
            RequestRoute.AbsoluteName => SendToAbsoluteNameAsync(request, uri!, entry!, cancellationToken),
            _ => base.SendAsync(request, cancellationToken),
        };
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownedMetrics is not null)
        {
            // Built by the public constructor: the client is this handler's own.
            _client.Dispose();
            _ownedMetrics.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// Sends a <c>svc.ns</c> host whose namespace is outside the allow-list to DNS as an absolute name (<c>svc.ns.</c>), keeping the
    /// Host header as written.
    /// </summary>
    /// <remarks>
    /// Refusing such hosts would break external names of the same shape (<c>example.com</c>), but passing them on unchanged would let
    /// the pod's DNS search list (<c>&lt;ns&gt;.svc.cluster.local</c>, <c>svc.cluster.local</c>) turn <c>alpaca.other</c> into the
    /// Service <c>alpaca</c> of namespace <c>other</c>, which the allow-list exists to keep out of reach. An absolute name is never
    /// expanded by the search list, so only a real external name resolves.
    /// </remarks>
    private async Task<HttpResponseMessage> SendToAbsoluteNameAsync(HttpRequestMessage request, Uri originalUri, HostEntry entry, CancellationToken cancellationToken)
    {
        var originalHost = request.Headers.Host;
        request.RequestUri = RequestRewriter.ToAbsoluteName(originalUri, entry);
        request.Headers.Host = entry.GetHostHeader(originalUri);
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            request.RequestUri = originalUri;
            request.Headers.Host = originalHost;
        }
    }

    /// <summary>
    /// The request path for a Service host. When the snapshot is at hand (every request after a Service's first) the endpoint is
    /// picked and the request sent without an async state machine; one is allocated only to wait for a response that is not
    /// there yet, and a larger one only for retries, the first lookup of a Service and per-attempt timeouts.
    /// </summary>
    private Task<HttpResponseMessage> SendToService(HttpRequestMessage message, Uri originalUri, HostEntry entry, CancellationToken cancellationToken)
    {
        if (entry.Match != ServiceHostMatch.Invalid)
        {
            // One clock read serves the held snapshot's check, the pick and the attempt's start.
            var now = _client.GetTimestamp();
            if (SnapshotLookup.TryGetCurrent(_client, entry, now) is { ServiceExists: true } snapshot)
            {
                var request = new ServiceRequest(message, originalUri, entry, cancellationToken);
                return SendResolved(ref request, snapshot, now);
            }
        }

        return SendToServiceAsync(message, originalUri, entry, cancellationToken);
    }

    /// <summary>The request path when the snapshot is not at hand: waits for it, or fails, or passes the request through to DNS.</summary>
    private async Task<HttpResponseMessage> SendToServiceAsync(HttpRequestMessage message, Uri originalUri, HostEntry entry, CancellationToken cancellationToken)
    {
        var (route, snapshot) = await SnapshotLookup.WaitAsync(_client, entry, cancellationToken).ConfigureAwait(false);
        switch (route)
        {
            case RequestRoute.AbsoluteName:
                return await SendToAbsoluteNameAsync(message, originalUri, entry, cancellationToken).ConfigureAwait(false);
            case RequestRoute.PassThrough:
                return await base.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }

        var request = new ServiceRequest(message, originalUri, entry, cancellationToken);
        var sent = SendResolved(ref request, snapshot!, _client.GetTimestamp());
        return await sent.ConfigureAwait(false);
    }

    /// <summary>Picks an endpoint of an existing Service and sends the first attempt; failures come back as a faulted task.</summary>
    private Task<HttpResponseMessage> SendResolved(ref ServiceRequest request, ServiceEndpointSnapshot snapshot, long now)
    {
        try
        {
            return SendFirstAttempt(ref request, snapshot, now);
        }
        catch (Exception e)
        {
            // A throwing load-balancing policy, for instance: reported through the task, as from an async method.
            return Task.FromException<HttpResponseMessage>(e);
        }
    }

    // now: the client clock's timestamp of the request, which is the pick's and the first attempt's start.
    private Task<HttpResponseMessage> SendFirstAttempt(ref ServiceRequest request, ServiceEndpointSnapshot snapshot, long now)
    {
        var client = _client;
        if (EndpointPicker.PickFirst(client, ref request, snapshot, now) is { } failure)
        {
            return Task.FromException<HttpResponseMessage>(failure);
        }

        request.CaptureOriginal();
        if (client.Options.AttemptTimeout is not null)
        {
            // Each attempt owns a timer to dispose of afterwards: the general path.
            return AttemptsAsync(request, sent: null);
        }

        RequestRewriter.PointAtDestination(client, ref request);
        var sent = StartAttempt(ref request, now, request.CancellationToken);
        if (sent.IsCompletedSuccessfully && RetryDecision.IsSuccess(sent.Result))
        {
            // The inner handler answered synchronously (a cached or in-memory response): nothing to wait for.
            try
            {
                AttemptObserver.End(client, ref request, AttemptOutcome.Success, sent.Result);
            }
            finally
            {
                request.Restore();
            }

            return sent;
        }

        return CompleteAsync(sent, request);
    }

    /// <summary>
    /// Waits for the first attempt and, when it succeeded, records it and restores the request. Kept small: its state machine is the
    /// only allocation of this handler's own per request (besides the Host header). Anything else goes on in <see cref="AttemptsAsync"/>.
    /// </summary>
    private async Task<HttpResponseMessage> CompleteAsync(Task<HttpResponseMessage> sent, ServiceRequest request)
    {
        await ((Task)sent).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (sent.IsCompletedSuccessfully && RetryDecision.IsSuccess(sent.Result))
        {
            var response = sent.Result;
            try
            {
                AttemptObserver.End(_client, ref request, AttemptOutcome.Success, response);
            }
            finally
            {
                request.Restore();
            }

            return response;
        }

        // Awaited like the first attempt, in the same variable: no further fields in this state machine.
        sent = AttemptsAsync(request, sent);
        await ((Task)sent).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return sent.GetAwaiter().GetResult();
    }

    /// <summary>
    /// The general attempt loop: sends (or, when <paramref name="sent"/> is given, finishes the attempt already sent), observes
    /// the outcome, retries on another endpoint when the retry decision allows, and restores the request at the end.
    /// </summary>
    private async Task<HttpResponseMessage> AttemptsAsync(ServiceRequest request, Task<HttpResponseMessage>? sent)
    {
        var client = _client;
        try
        {
            while (true)
            {
                HttpResponseMessage? response = null;
                Exception? error = null;
                AttemptOutcome outcome;
                var timeout = default(AttemptTimeout);
                try
                {
                    if (sent is null)
                    {
                        RequestRewriter.PointAtDestination(client, ref request);
                        timeout = AttemptTimeout.Start(client, request.CancellationToken);
                        sent = StartAttempt(ref request, client.GetTimestamp(), timeout.TokenOr(request.CancellationToken));
                    }

                    try
                    {
                        response = await sent.ConfigureAwait(false);
                        outcome = RetryDecision.OutcomeOf(response);
                    }
                    catch (Exception e)
                    {
                        error = e;
                        outcome = RetryDecision.OutcomeOf(e, request);
                    }
                }
                finally
                {
                    sent = null;
                    timeout.Dispose();
                }

                AttemptObserver.End(client, ref request, outcome, response);
                if (outcome == AttemptOutcome.Success)
                {
                    return response!;
                }

                RetryDecision.RecordFailedEndpoint(client, request, outcome);
                var failedOn = request.Destination;
                if (RetryDecision.MayRetry(client, request, outcome, response) && EndpointPicker.TryPickRetry(client, ref request))
                {
                    var retry = request.CountRetry(outcome);
                    var service = request.Service;
                    client.Metrics.Retried(service, outcome);
                    Log.Retrying(client.Logger, request.Message.Method, service.Namespace, service.Name, outcome, failedOn.Authority, retry);
                    response?.Dispose();
                    continue;
                }

                if (response is not null)
                {
                    return response;
                }

                ExceptionDispatchInfo.Throw(error!);
            }
        }
        finally
        {
            request.Restore();
        }
    }

    /// <summary>
    /// Starts an attempt on the request's destination and hands it to the inner handler with <paramref name="token"/>; an exception
    /// thrown synchronously comes back as a faulted task, like any other failure. The attempt's activity is current only while
    /// the inner handler starts: the caller's stays current for the caller, and the next attempt's is a sibling, not a child.
    /// </summary>
    private Task<HttpResponseMessage> StartAttempt(ref ServiceRequest request, long started, CancellationToken token)
    {
        var caller = Activity.Current;
        AttemptObserver.Begin(_client, ref request, started);
        Task<HttpResponseMessage> sent;
        try
        {
            sent = base.SendAsync(request.Message, token);
        }
        catch (Exception e)
        {
            sent = Task.FromException<HttpResponseMessage>(e);
        }

        if (request.Activity is not null)
        {
            Activity.Current = caller;
        }

        return sent;
    }
}
