using System.Diagnostics;
using System.Diagnostics.Metrics;
using static Discovery.Http.DiscoveryHttpInstrumentation;

namespace Discovery.Http;

/// <summary>
/// The instruments of the <c>Discovery.Http</c> meter. Each records only while someone listens. Per-endpoint tags are added only
/// when the client's options ask for them (<c>perEndpoint</c>): by default every tag has a bounded set of values.
/// </summary>
internal sealed class DiscoveryHttpMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _picks;
    private readonly UpDownCounter<long> _active;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _ejections;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _readmissions;

    public DiscoveryHttpMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _picks = _meter.CreateCounter<long>(Picks, "{pick}", "Endpoints picked for a request attempt.");
        _active = _meter.CreateUpDownCounter<long>(ActiveRequests, "{request}", "Request attempts waiting for response headers.");
        _duration = _meter.CreateHistogram<double>(RequestDuration, "s", "Duration of request attempts on one endpoint, to response headers.");
        _ejections = _meter.CreateCounter<long>(Ejections, "{ejection}", "Endpoints ejected by passive health checking.");
        _retries = _meter.CreateCounter<long>(Retries, "{retry}", "Request attempts retried on another endpoint.");
        _readmissions = _meter.CreateCounter<long>(Readmissions, "{readmission}", "Ejected endpoints back in rotation after their ejection ended.");
    }

    public static string ReasonOf(AttemptOutcome outcome) => outcome switch
    {
        AttemptOutcome.ConnectFailure => "connect_failure",
        AttemptOutcome.ServerError => "server_error",
        AttemptOutcome.Timeout => "timeout",
        AttemptOutcome.TlsFailure => "tls_failure",
        AttemptOutcome.Canceled => "canceled",
        AttemptOutcome.Success => "success",
        _ => "error",
    };

    /// <summary>The method as the semantic conventions name it: the known methods as they are, any other one <c>_OTHER</c>.</summary>
    public static string MethodOf(HttpMethod method)
    {
        var name = method.Method;
        return name switch
        {
            "GET" or "POST" or "PUT" or "DELETE" or "HEAD" or "OPTIONS" or "PATCH" or "TRACE" or "CONNECT" => name,
            _ => "_OTHER",
        };
    }

    public void Picked(ServiceKey service, DestinationState destination, bool perEndpoint)
    {
        if (_picks.Enabled)
        {
            var tags = ServiceTags(service, destination, perEndpoint);
            if (destination.Endpoint.Zone is { } zone)
            {
                tags.Add(ZoneTag, zone);
            }

            _picks.Add(1, tags);
        }
    }

    public void Started(ServiceKey service)
    {
        if (_active.Enabled)
        {
            _active.Add(1, new KeyValuePair<string, object?>(NamespaceTag, service.Namespace), new KeyValuePair<string, object?>(ServiceTag, service.Name));
        }
    }

    public void Finished(ServiceKey service)
    {
        if (_active.Enabled)
        {
            _active.Add(-1, new KeyValuePair<string, object?>(NamespaceTag, service.Namespace), new KeyValuePair<string, object?>(ServiceTag, service.Name));
        }
    }

    public void Completed(ServiceKey service, DestinationState destination, HttpMethod method, Uri originalUri, TimeSpan elapsed, int? statusCode, AttemptOutcome outcome, bool perEndpoint)
    {
        if (_duration.Enabled)
        {
            var tags = ServiceTags(service, destination, perEndpoint);
            tags.Add(ServerAddressTag, originalUri.IdnHost);
            tags.Add(ServerPortTag, originalUri.Port);
            tags.Add(SchemeTag, originalUri.Scheme);
            tags.Add(MethodTag, MethodOf(method));
            if (statusCode is { } status)
            {
                tags.Add(StatusCodeTag, status);
            }

            if (outcome != AttemptOutcome.Success)
            {
                tags.Add(ErrorTypeTag, ReasonOf(outcome));
            }

            _duration.Record(elapsed.TotalSeconds, tags);
        }
    }

    public void Ejected(ServiceKey service, DestinationState destination, AttemptOutcome outcome, bool perEndpoint)
    {
        var tags = ServiceTags(service, destination, perEndpoint);
        tags.Add(ReasonTag, ReasonOf(outcome));
        _ejections.Add(1, tags);
    }

    public void Readmitted(ServiceKey service, DestinationState destination, bool perEndpoint)
    {
        if (_readmissions.Enabled)
        {
            _readmissions.Add(1, ServiceTags(service, destination, perEndpoint));
        }
    }

    public void Retried(ServiceKey service, AttemptOutcome outcome)
    {
        _retries.Add(
            1,
            new KeyValuePair<string, object?>(NamespaceTag, service.Namespace),
            new KeyValuePair<string, object?>(ServiceTag, service.Name),
            new KeyValuePair<string, object?>(ReasonTag, ReasonOf(outcome)));
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static TagList ServiceTags(ServiceKey service, DestinationState destination, bool perEndpoint)
    {
        var tags = new TagList
        {
            { NamespaceTag, service.Namespace },
            { ServiceTag, service.Name },
        };
        if (perEndpoint)
        {
            tags.Add(PeerAddressTag, destination.Endpoint.Address);
            tags.Add(PeerPortTag, destination.Target.Port);
            if (destination.Endpoint.PodName is { } pod)
            {
                tags.Add(PodTag, pod);
            }
        }

        return tags;
    }
}
