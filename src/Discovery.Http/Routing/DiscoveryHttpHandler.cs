using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
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
/// </remarks>
public sealed class DiscoveryHttpHandler : DelegatingHandler
{
    private const string H2cAppProtocol = "kubernetes.io/h2c";

    // The path and query come from an already canonical Uri: parsing them again would only cost time.
    private static readonly UriCreationOptions RewrittenUriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private static readonly TimeSpan PassThroughMemory = TimeSpan.FromMinutes(1);

    private readonly DiscoveryClient _client;
    private readonly DiscoveryHttpMetrics? _ownedMetrics;

    /// <summary>Creates a handler outside <c>IHttpClientFactory</c>, with its own load-balancing state.</summary>
    /// <param name="resolver">The endpoint resolver of the discovery core.</param>
    /// <param name="parser">The host parser of the discovery core.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to log; nowhere when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock of ejection back-off; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
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
        // IP literals never name a Service; "_port.name" hosts are Basic rather than Dns because of the underscore.
        if (uri is null || !uri.IsAbsoluteUri || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.Basic))
        {
            return base.SendAsync(request, cancellationToken);
        }

        var entry = _client.GetHostEntry(uri.Host);
        if (entry.Match == ServiceHostMatch.PassThrough)
        {
            return base.SendAsync(request, cancellationToken);
        }

        if (entry.Match == ServiceHostMatch.ServiceIfExists)
        {
            if (entry.OutsideAllowedNamespaces)
            {
                return SendToAbsoluteNameAsync(request, uri, entry, cancellationToken);
            }

            if (entry.PassesThrough(_client.TimeProvider.GetTimestamp()))
            {
                return base.SendAsync(request, cancellationToken);
            }
        }

        return SendToService(request, uri, entry, cancellationToken);
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
        var port = originalUri.IsDefaultPort ? string.Empty : ":" + originalUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        request.RequestUri = WithAuthority(originalUri, originalUri.AbsoluteUri, entry.Host + "." + port);
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

    /// <summary>The URI with its authority replaced, keeping scheme, path and query (<paramref name="absolute"/> is its AbsoluteUri).</summary>
    private static Uri WithAuthority(Uri original, string absolute, string authority)
    {
        var scheme = original.Scheme;
        var pathStart = absolute.IndexOf('/', scheme.Length + 3);
        var pathAndQuery = pathStart < 0 ? "/".AsSpan() : absolute.AsSpan(pathStart);
        return new Uri(string.Concat(scheme.AsSpan(), "://".AsSpan(), authority.AsSpan(), pathAndQuery), RewrittenUriOptions);
    }

    private static Uri Rewrite(Uri original, DestinationState destination)
    {
        var last = destination.LastRewrite;
        if (last is not null && ReferenceEquals(last.OriginalUri, original))
        {
            return last.Rewritten;
        }

        var absolute = original.AbsoluteUri;
        if (last is not null && string.Equals(last.Original, absolute, StringComparison.Ordinal))
        {
            return last.Rewritten;
        }

        var rewritten = WithAuthority(original, absolute, destination.Authority);
        destination.LastRewrite = new RewrittenUri(original, absolute, rewritten);
        return rewritten;
    }

    private static bool IsH2c(PortSelection selection, Uri uri)
        => string.Equals(uri.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase)
        && string.Equals(selection.AppProtocol, H2cAppProtocol, StringComparison.OrdinalIgnoreCase);

    private PortSelection SelectPort(ServiceEndpointSnapshot snapshot, Uri uri, HostEntry entry)
    {
        int? port = uri.IsDefaultPort ? null : uri.Port;
        var scheme = uri.Scheme;
        var route = entry.LastRoute;
        if (route is not null && route.Matches(snapshot, port, scheme))
        {
            return route.Selection;
        }

        try
        {
            var selection = snapshot.SelectPort(port, entry.Parse.PortName, scheme, _client.DefaultPortName);
            entry.LastRoute = new HostEntry.PortRoute(snapshot, port, scheme, selection);
            return selection;
        }
        catch (ServicePortNotFoundException e)
        {
            throw new DiscoveryHttpRequestException(e);
        }
    }

    private bool CanRetry(HttpRequestMessage request, AttemptOutcome outcome, int? statusCode, int connectRetries, int sendRetries, bool resendable)
    {
        if (!resendable)
        {
            return false;
        }

        var options = _client.Options;
        return outcome switch
        {
            AttemptOutcome.ConnectFailure => connectRetries < options.MaxConnectFailureRetries,
            AttemptOutcome.ServerError => sendRetries < options.MaxRetriesAfterSend
                && AttemptOutcomeClassifier.IsRetryableStatus(statusCode ?? 0)
                && AttemptOutcomeClassifier.IsIdempotent(request.Method),
            AttemptOutcome.Timeout or AttemptOutcome.FailureAfterSend => sendRetries < options.MaxRetriesAfterSend
                && AttemptOutcomeClassifier.IsIdempotent(request.Method),
            _ => false,
        };
    }

    /// <summary>
    /// The request path for a Service host. When the snapshot is at hand (every request after a Service's first) the endpoint is
    /// picked and the request sent without an async state machine; one is allocated only to wait for a response that is not
    /// there yet, and a larger one only for retries, the first lookup of a Service and per-attempt timeouts.
    /// </summary>
    private Task<HttpResponseMessage> SendToService(HttpRequestMessage request, Uri originalUri, HostEntry entry, CancellationToken cancellationToken)
    {
        if (entry.Match != ServiceHostMatch.Invalid)
        {
            // One clock read serves the held snapshot's check, the pick and the attempt's start.
            var now = _client.GetTimestamp();
            var snapshot = entry.GetHeldSnapshot(now) ?? LookUpSnapshot(entry, now);
            if (snapshot is not null && snapshot.ServiceExists)
            {
                return SendResolved(request, originalUri, entry, snapshot, now, cancellationToken);
            }
        }

        return SendToServiceAsync(request, originalUri, entry, cancellationToken);
    }

    /// <summary>
    /// Asks the resolver (which marks the Service in use, keeping its watcher) and, when the resolver marks the snapshots it
    /// replaces, holds the answer on the host entry so that the next requests skip the lookup until it is superseded or due.
    /// </summary>
    private ServiceEndpointSnapshot? LookUpSnapshot(HostEntry entry, long now)
    {
        var client = _client;
        if (!client.Resolver.TryGetSnapshot(entry.Service, out var snapshot))
        {
            return null;
        }

        if (client.HoldsSnapshots)
        {
            entry.HoldSnapshot(snapshot, now + client.SnapshotRecheckInterval);
        }

        return snapshot;
    }

    /// <summary>The request path when the snapshot is not at hand: waits for it, or fails, or passes the request through to DNS.</summary>
    private async Task<HttpResponseMessage> SendToServiceAsync(HttpRequestMessage request, Uri originalUri, HostEntry entry, CancellationToken cancellationToken)
    {
        var client = _client;
        var service = entry.Service;
        if (entry.Match == ServiceHostMatch.Invalid)
        {
            throw new DiscoveryHttpRequestException(new InvalidServiceNameException(entry.Host, entry.Parse.Error ?? "malformed name", service));
        }

        if (!client.Resolver.TryGetSnapshot(service, out var snapshot))
        {
            try
            {
                // "name.namespace" may be an external name: the resolver answers null when no Service the app can see has it.
                snapshot = entry.Match == ServiceHostMatch.ServiceIfExists
                    ? await client.Resolver.GetSnapshotIfVisibleAsync(service, cancellationToken).ConfigureAwait(false)
                    : await client.Resolver.GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false);
            }
            catch (NamespaceNotAllowedException e) when (entry.Match == ServiceHostMatch.ServiceIfExists)
            {
                // The allow-list is fixed for the app's lifetime, so this host is remembered as external for good.
                entry.OutsideAllowedNamespaces = true;
                Log.PassingThroughAsAbsoluteName(client.Logger, entry.Host, e.Service.Namespace);
                return await SendToAbsoluteNameAsync(request, originalUri, entry, cancellationToken).ConfigureAwait(false);
            }
            catch (DiscoveryException e) when (entry.Match == ServiceHostMatch.ServiceIfExists)
            {
                // "name.namespace" is also the shape of external names such as "example.com": when discovery cannot tell
                // whether such a Service exists, DNS decides, and is asked directly for a while.
                entry.PassThroughUntil(client.TimeProvider.GetTimestamp() + (long)(PassThroughMemory.TotalSeconds * client.TimeProvider.TimestampFrequency));
                Log.PassingThrough(client.Logger, entry.Host, e.GetType().Name);
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (DiscoveryException e)
            {
                throw new DiscoveryHttpRequestException(e);
            }
        }

        if (snapshot is null || !snapshot.ServiceExists)
        {
            if (entry.Match == ServiceHostMatch.ServiceIfExists)
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            throw new DiscoveryHttpRequestException(new ServiceNotFoundException(service));
        }

        return await SendResolved(request, originalUri, entry, snapshot, client.GetTimestamp(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Picks an endpoint of an existing Service and sends the first attempt; failures come back as a faulted task.</summary>
    private Task<HttpResponseMessage> SendResolved(HttpRequestMessage request, Uri originalUri, HostEntry entry, ServiceEndpointSnapshot snapshot, long now, CancellationToken cancellationToken)
    {
        try
        {
            return SendResolvedCore(request, originalUri, entry, snapshot, now, cancellationToken);
        }
        catch (Exception e)
        {
            // A throwing load-balancing policy, for instance: reported through the task, as from an async method.
            return Task.FromException<HttpResponseMessage>(e);
        }
    }

    // now: the TimeProvider timestamp of the request, which is the pick's, and the attempt's start on the system clock.
    private Task<HttpResponseMessage> SendResolvedCore(HttpRequestMessage request, Uri originalUri, HostEntry entry, ServiceEndpointSnapshot snapshot, long now, CancellationToken cancellationToken)
    {
        var client = _client;
        var service = entry.Service;
        PortSelection selection;
        try
        {
            selection = SelectPort(snapshot, originalUri, entry);
        }
        catch (DiscoveryHttpRequestException e)
        {
            return Task.FromException<HttpResponseMessage>(e);
        }

        if (selection.Targets.IsEmpty)
        {
            return Task.FromException<HttpResponseMessage>(new DiscoveryHttpRequestException(
                new NoReadyEndpointsException(service, snapshot.NotReadyCount, snapshot.TerminatingCount, NullIfEmpty(selection.PortName))));
        }

        var balancer = client.GetBalancer(entry, selection.PortName);
        var set = balancer.GetDestinationSet(selection);
        if (set.Failure is { } topologyFailure)
        {
            // internalTrafficPolicy: Local with no endpoint on this node (or no node name): kube-proxy would drop the traffic.
            return Task.FromException<HttpResponseMessage>(new DiscoveryHttpRequestException(topologyFailure));
        }

        // An outer retry (Polly, the standard resilience handler) re-sends this same message: go elsewhere than before.
        var failed = client.GetFailedEndpoints(request);
        var destination = balancer.Pick(set, new LoadBalancingContext(request, service, 0, balancer.Sequence), failed, strict: false, now);
        if (destination is null)
        {
            return Task.FromException<HttpResponseMessage>(new DiscoveryHttpRequestException(
                DiscoveryFailureReason.NoEndpointPicked,
                service,
                $"The load-balancing policy '{client.Policy.Name}' picked no endpoint of Service '{service.Name}' in namespace '{service.Namespace}' out of {set.All.Length}."));
        }

        var original = new OriginalRequest(request);
        if (client.Options.AttemptTimeout is not null)
        {
            // Each attempt owns a timer to dispose of afterwards: the general path.
            return AttemptsAsync(request, originalUri, entry, set, destination, original, sent: null, activity: null, started: 0, cancellationToken);
        }

        Prepare(request, originalUri, entry, set.Selection, destination, original);
        var caller = Activity.Current;
        var activity = BeginAttempt(service, originalUri, destination, attempt: 0);

        // The clock read of the pick is the start: it is a Stopwatch timestamp, and the request is about to go.
        var started = client.UsesSystemClock ? now : Stopwatch.GetTimestamp();
        var sent = SendInner(request, cancellationToken);
        if (activity is not null)
        {
            // The send has captured the attempt's activity; the caller's stays current for the caller.
            Activity.Current = caller;
        }

        if (sent.IsCompletedSuccessfully && IsSuccess(sent.Result))
        {
            // The inner handler answered synchronously (a cached or in-memory response): nothing to wait for.
            try
            {
                EndAttempt(balancer, destination, started, AttemptOutcome.Success, (int)sent.Result.StatusCode, sent.Result, request.Method, originalUri, activity);
            }
            finally
            {
                original.Restore(request, originalUri);
            }

            return sent;
        }

        return CompleteAsync(sent, request, originalUri, entry, set, destination, original, activity, started, cancellationToken);
    }

    /// <summary>
    /// Waits for the first attempt and, when it succeeded, records it and restores the request. Kept small: its state machine is the
    /// only allocation of this handler's own per request (besides the Host header). Anything else goes on in <see cref="AttemptsAsync"/>.
    /// </summary>
    private async Task<HttpResponseMessage> CompleteAsync(
        Task<HttpResponseMessage> sent,
        HttpRequestMessage request,
        Uri originalUri,
        HostEntry entry,
        DestinationSet set,
        DestinationState destination,
        OriginalRequest original,
        Activity? activity,
        long started,
        CancellationToken cancellationToken)
    {
        await ((Task)sent).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (sent.IsCompletedSuccessfully && IsSuccess(sent.Result))
        {
            var response = sent.Result;
            try
            {
                EndAttempt(set.Balancer, destination, started, AttemptOutcome.Success, (int)response.StatusCode, response, request.Method, originalUri, activity);
            }
            finally
            {
                original.Restore(request, originalUri);
            }

            return response;
        }

        // Awaited like the first attempt, in the same variable: no further fields in this state machine.
        sent = AttemptsAsync(request, originalUri, entry, set, destination, original, sent, activity, started, cancellationToken);
        await ((Task)sent).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return sent.GetAwaiter().GetResult();
    }

    /// <summary>
    /// The general attempt loop: sends (or, when <paramref name="sent"/> is given, finishes the attempt already sent), records the
    /// outcome, retries on another endpoint when allowed, and restores the request at the end.
    /// </summary>
    private async Task<HttpResponseMessage> AttemptsAsync(
        HttpRequestMessage request,
        Uri originalUri,
        HostEntry entry,
        DestinationSet set,
        DestinationState destination,
        OriginalRequest original,
        Task<HttpResponseMessage>? sent,
        Activity? activity,
        long started,
        CancellationToken cancellationToken)
    {
        var client = _client;
        var service = entry.Service;
        var balancer = set.Balancer;
        var selection = set.Selection;
        var failed = client.GetFailedEndpoints(request);
        var resendable = AttemptOutcomeClassifier.IsResendable(request.Content);
        var connectRetries = 0;
        var sendRetries = 0;
        var attempt = 0;
        try
        {
            while (true)
            {
                HttpResponseMessage? response = null;
                Exception? error = null;
                AttemptOutcome outcome;
                CancellationTokenSource? timer = null;
                CancellationTokenSource? timeout = null;
                try
                {
                    if (sent is null)
                    {
                        Prepare(request, originalUri, entry, selection, destination, original);
                        var caller = Activity.Current;
                        activity = BeginAttempt(service, originalUri, destination, attempt);
                        started = Stopwatch.GetTimestamp();
                        if (client.Options.AttemptTimeout is { } attemptTimeout)
                        {
                            timer = new CancellationTokenSource(attemptTimeout, client.TimeProvider);
                            timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
                        }

                        sent = SendInner(request, timeout?.Token ?? cancellationToken);
                        if (activity is not null)
                        {
                            // The next attempt's activity is a sibling of this one, not its child.
                            Activity.Current = caller;
                        }
                    }

                    try
                    {
                        response = await sent.ConfigureAwait(false);
                        outcome = IsSuccess(response) ? AttemptOutcome.Success : AttemptOutcome.ServerError;
                    }
                    catch (Exception e)
                    {
                        error = e;

                        // Only the endpoint's own failures count against it: when the caller's token ended the wait (its own
                        // cancellation, HttpClient.Timeout, a hedging attempt that lost), the endpoint was not at fault.
                        outcome = e is OperationCanceledException && cancellationToken.IsCancellationRequested
                            ? AttemptOutcome.Canceled
                            : AttemptOutcomeClassifier.Classify(e);
                    }
                }
                finally
                {
                    sent = null;
                    timeout?.Dispose();
                    timer?.Dispose();
                }

                var statusCode = response is null ? (int?)null : (int)response.StatusCode;
                EndAttempt(balancer, destination, started, outcome, statusCode, response, request.Method, originalUri, activity);
                activity = null;
                if (outcome == AttemptOutcome.Success)
                {
                    return response!;
                }

                if (outcome is not (AttemptOutcome.TlsFailure or AttemptOutcome.Canceled))
                {
                    failed ??= client.AddFailedEndpoints(request);

                    failed.Add(destination.Authority);
                }

                if (!cancellationToken.IsCancellationRequested && CanRetry(request, outcome, statusCode, connectRetries, sendRetries, resendable))
                {
                    // Take the newest snapshot: the endpoint that failed may already be gone from it.
                    if (client.Resolver.TryGetSnapshot(service, out var latest) && latest.ServiceExists && !ReferenceEquals(latest, selection.Snapshot))
                    {
                        try
                        {
                            var latestSelection = latest.SelectPort(originalUri.IsDefaultPort ? null : originalUri.Port, entry.Parse.PortName, originalUri.Scheme, client.DefaultPortName);
                            if (!latestSelection.Targets.IsEmpty && string.Equals(latestSelection.PortName, selection.PortName, StringComparison.Ordinal))
                            {
                                selection = latestSelection;
                            }
                        }
                        catch (ServicePortNotFoundException)
                        {
                            // The port vanished with the change; retry within the set this request started with.
                        }
                    }

                    set = balancer.GetDestinationSet(selection);
                    attempt++;
                    var next = balancer.Pick(set, new LoadBalancingContext(request, service, attempt, balancer.Sequence), failed, strict: true, client.GetTimestamp());
                    if (next is not null)
                    {
                        var retry = outcome == AttemptOutcome.ConnectFailure ? ++connectRetries : ++sendRetries;
                        client.Metrics.Retried(service, outcome);
                        Log.Retrying(client.Logger, request.Method, service.Namespace, service.Name, outcome, destination.Authority, retry);
                        response?.Dispose();
                        destination = next;
                        continue;
                    }
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
            original.Restore(request, originalUri);
        }
    }

    private static bool IsSuccess(HttpResponseMessage response) => (int)response.StatusCode < 500;

    /// <summary>Points the request at <paramref name="destination"/>, keeping the original Host for the server.</summary>
    private void Prepare(HttpRequestMessage request, Uri originalUri, HostEntry entry, PortSelection selection, DestinationState destination, OriginalRequest original)
    {
        request.RequestUri = Rewrite(originalUri, destination);
        if (original.SetsHost)
        {
            // The typed setter: SocketsHttpHandler reads the header back (for the request line, and as the TLS host name), which
            // would turn a raw value into a parsed one anyway, at the same cost.
            request.Headers.Host = entry.GetHostHeader(originalUri);
        }

        if (_client.Options.UseAppProtocol && IsH2c(selection, originalUri))
        {
            request.Version = System.Net.HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
    }

    /// <summary>Counts the attempt and starts its activity, which becomes current (the caller restores the previous one once the send started).</summary>
    private Activity? BeginAttempt(ServiceKey service, Uri originalUri, DestinationState destination, int attempt)
    {
        var metrics = _client.Metrics;
        metrics.Picked(service, destination, _client.Options.EndpointMetricTags);
        var activity = AttemptActivity.Start(service, originalUri, destination, attempt);
        destination.Statistics.Started();
        metrics.Started(service);
        return activity;
    }

    private void EndAttempt(
        ServicePortBalancer balancer,
        DestinationState destination,
        long started,
        AttemptOutcome outcome,
        int? statusCode,
        HttpResponseMessage? response,
        HttpMethod method,
        Uri originalUri,
        Activity? activity)
    {
        var metrics = _client.Metrics;
        destination.Statistics.Finished();
        metrics.Finished(balancer.Service);
        var end = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(started, end);
        if (outcome == AttemptOutcome.Success && response is { Version.Major: >= 2 } && GrpcStatusClassifier.IsGrpc(response))
        {
            // A gRPC call answers 200 whatever happened: its status is a grpc-status header (trailers-only) or trailer.
            if (!GrpcStatusClassifier.TryGetStatus(response.Headers, out var status))
            {
                ReportOutcomeWithTrailers(_client, balancer, destination, response, elapsed);
                metrics.Completed(balancer.Service, destination, method, originalUri, elapsed, statusCode, outcome, _client.Options.EndpointMetricTags);
                if (activity is not null)
                {
                    // The attempt's span ends with the response headers, as the System.Net.Http span does; the call's status
                    // comes later, in the trailers.
                    AttemptActivity.Stop(activity, outcome, statusCode);
                }

                return;
            }

            outcome = GrpcStatusClassifier.OutcomeOf(status);
        }

        balancer.ReportOutcome(destination, outcome, elapsed, _client.UsesSystemClock ? end : _client.TimeProvider.GetTimestamp());
        metrics.Completed(balancer.Service, destination, method, originalUri, elapsed, statusCode, outcome, _client.Options.EndpointMetricTags);
        if (activity is not null)
        {
            AttemptActivity.Stop(activity, outcome, statusCode);
        }
    }

    /// <summary>Defers the outcome of a gRPC call whose status comes in the trailers until the response content has read them.</summary>
    /// <remarks>
    /// A method of its own: the closure's captures would otherwise be hoisted into a display class allocated on every call of
    /// <see cref="EndAttempt"/> (48 B per request on the success path, gRPC or not), not only when this branch runs.
    /// </remarks>
    private static void ReportOutcomeWithTrailers(DiscoveryClient client, ServicePortBalancer balancer, DestinationState destination, HttpResponseMessage response, TimeSpan elapsed)
        => response.Content = new GrpcTrailersContent(response, response.Content, late =>
            balancer.ReportOutcome(destination, late, elapsed, client.UsesSystemClock ? Stopwatch.GetTimestamp() : client.TimeProvider.GetTimestamp()));

    /// <summary>The inner send, with an exception thrown synchronously turned into a faulted task like any other failure.</summary>
    private Task<HttpResponseMessage> SendInner(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return base.SendAsync(request, cancellationToken);
        }
        catch (Exception e)
        {
            return Task.FromException<HttpResponseMessage>(e);
        }
    }

    /// <summary>What the handler changes on a request, as the caller wrote it, to restore once the send is over.</summary>
    [StructLayout(LayoutKind.Auto)]
    private readonly struct OriginalRequest
    {
        private readonly Version _version;
        private readonly HttpVersionPolicy _versionPolicy;

        public OriginalRequest(HttpRequestMessage request)
        {
            SetsHost = request.Headers.Host is null;
            _version = request.Version;
            _versionPolicy = request.VersionPolicy;
        }

        /// <summary>Whether the request has no Host header of its own, so the handler sets (and then removes) one.</summary>
        public bool SetsHost { get; }

        public void Restore(HttpRequestMessage request, Uri originalUri)
        {
            request.RequestUri = originalUri;
            if (SetsHost)
            {
                request.Headers.Host = null;
            }

            request.Version = _version;
            request.VersionPolicy = _versionPolicy;
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
