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
        if (entry.Match == ServiceHostMatch.PassThrough
            || (entry.Match == ServiceHostMatch.ServiceIfExists && entry.PassesThrough(_client.TimeProvider.GetTimestamp())))
        {
            return base.SendAsync(request, cancellationToken);
        }

        return SendToServiceAsync(request, uri, entry, cancellationToken);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ownedMetrics?.Dispose();
        }

        base.Dispose(disposing);
    }

    private static Uri Rewrite(Uri original, DestinationState destination)
    {
        var absolute = original.AbsoluteUri;
        var last = destination.LastRewrite;
        if (last is not null && string.Equals(last.Original, absolute, StringComparison.Ordinal))
        {
            return last.Rewritten;
        }

        var scheme = original.Scheme;
        var pathStart = absolute.IndexOf('/', scheme.Length + 3);
        var pathAndQuery = pathStart < 0 ? "/".AsSpan() : absolute.AsSpan(pathStart);
        var rewritten = new Uri(string.Concat(scheme.AsSpan(), "://".AsSpan(), destination.Authority.AsSpan(), pathAndQuery), RewrittenUriOptions);
        destination.LastRewrite = new RewrittenUri(absolute, rewritten);
        return rewritten;
    }

    private static bool IsH2c(PortSelection selection, Uri uri)
        => string.Equals(uri.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase)
        && string.Equals(selection.AppProtocol, H2cAppProtocol, StringComparison.OrdinalIgnoreCase);

    private static void Tag(Activity? activity, ServiceKey service, DestinationState destination)
    {
        if (activity is null || !activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(DiscoveryHttpInstrumentation.ServiceTag, service.Name);
        activity.SetTag(DiscoveryHttpInstrumentation.NamespaceTag, service.Namespace);
        activity.SetTag(DiscoveryHttpInstrumentation.PodTag, destination.Endpoint.PodName);
        activity.SetTag(DiscoveryHttpInstrumentation.EndpointAddressTag, destination.Endpoint.Address);
        activity.SetTag(DiscoveryHttpInstrumentation.EndpointTag, destination.Authority);
        activity.SetTag(DiscoveryHttpInstrumentation.ZoneTag, destination.Endpoint.Zone);
    }

    private PortSelection SelectPort(ServiceEndpointSnapshot snapshot, Uri uri, HostEntry entry)
    {
        try
        {
            return snapshot.SelectPort(uri.IsDefaultPort ? null : uri.Port, entry.Parse.PortName, uri.Scheme, _client.DefaultPortName);
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
                snapshot = await client.Resolver.GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false);
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

        if (!snapshot.ServiceExists)
        {
            if (entry.Match == ServiceHostMatch.ServiceIfExists)
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            throw new DiscoveryHttpRequestException(new ServiceNotFoundException(service));
        }

        var selection = SelectPort(snapshot, originalUri, entry);
        if (selection.Targets.IsEmpty)
        {
            throw new DiscoveryHttpRequestException(new NoReadyEndpointsException(service, snapshot.NotReadyCount, snapshot.TerminatingCount, NullIfEmpty(selection.PortName)));
        }

        var balancer = client.GetBalancer(entry, selection.PortName);
        var set = balancer.GetDestinationSet(selection);

        // An outer retry (Polly, the standard resilience handler) re-sends this same message: go elsewhere than before.
        var failed = client.GetFailedEndpoints(request);
        var destination = balancer.Pick(set, new LoadBalancingContext(request, service, 0, balancer.Sequence), failed, strict: false)
            ?? throw new DiscoveryHttpRequestException(
                DiscoveryFailureReason.NoEndpointPicked,
                service,
                $"The load-balancing policy '{client.Policy.Name}' picked no endpoint of Service '{service.Name}' in namespace '{service.Namespace}' out of {set.All.Length}.");

        var setHost = request.Headers.Host is null;
        var originalVersion = request.Version;
        var originalVersionPolicy = request.VersionPolicy;
        var resendable = AttemptOutcomeClassifier.IsResendable(request.Content);
        var connectRetries = 0;
        var sendRetries = 0;
        var attempt = 0;
        try
        {
            while (true)
            {
                request.RequestUri = Rewrite(originalUri, destination);
                if (setHost)
                {
                    request.Headers.Host = entry.GetHostHeader(originalUri);
                }

                if (client.Options.UseAppProtocol && IsH2c(selection, originalUri))
                {
                    request.Version = System.Net.HttpVersion.Version20;
                    request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                }

                client.Metrics.Picked(service, destination);
                Tag(Activity.Current, service, destination);

                var statistics = destination.Statistics;
                HttpResponseMessage? response = null;
                Exception? error = null;
                AttemptOutcome outcome;
                var started = Stopwatch.GetTimestamp();
                statistics.Started();
                client.Metrics.Started(service);
                using var timer = client.Options.AttemptTimeout is { } attemptTimeout ? new CancellationTokenSource(attemptTimeout, client.TimeProvider) : null;
                using var timeout = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
                try
                {
                    response = await base.SendAsync(request, timeout?.Token ?? cancellationToken).ConfigureAwait(false);
                    outcome = (int)response.StatusCode >= 500 ? AttemptOutcome.ServerError : AttemptOutcome.Success;
                }
                catch (Exception e)
                {
                    error = e;
                    outcome = AttemptOutcomeClassifier.Classify(e);
                }
                finally
                {
                    statistics.Finished();
                    client.Metrics.Finished(service);
                }

                var elapsed = Stopwatch.GetElapsedTime(started);
                var statusCode = response is null ? (int?)null : (int)response.StatusCode;
                balancer.ReportOutcome(destination, outcome, elapsed);
                client.Metrics.Completed(service, destination, elapsed, statusCode, outcome);
                if (outcome == AttemptOutcome.Success)
                {
                    return response!;
                }

                if (outcome != AttemptOutcome.TlsFailure)
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
                    var next = balancer.Pick(set, new LoadBalancingContext(request, service, attempt, balancer.Sequence), failed, strict: true);
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
            request.RequestUri = originalUri;
            if (setHost)
            {
                request.Headers.Host = null;
            }

            request.Version = originalVersion;
            request.VersionPolicy = originalVersionPolicy;
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
