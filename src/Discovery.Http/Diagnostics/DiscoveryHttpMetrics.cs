using System.Diagnostics;
using System.Diagnostics.Metrics;
using static Discovery.Http.DiscoveryHttpInstrumentation;

namespace Discovery.Http;

/// <summary>The instruments of the <c>Discovery.Http</c> meter. Each records only while someone listens.</summary>
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
        _duration = _meter.CreateHistogram<double>(RequestDuration, "s", "Duration of request attempts to response headers, per endpoint.");
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

    public void Picked(ServiceKey service, DestinationState destination)
    {
        if (_picks.Enabled)
        {
            var tags = EndpointTags(service, destination);
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

    public void Completed(ServiceKey service, DestinationState destination, TimeSpan elapsed, int? statusCode, AttemptOutcome outcome)
    {
        if (_duration.Enabled)
        {
            var tags = EndpointTags(service, destination);
            if (statusCode is { } status)
            {
                tags.Add("http.response.status_code", status);
            }

            if (outcome != AttemptOutcome.Success)
            {
                tags.Add("error.type", ReasonOf(outcome));
            }

            _duration.Record(elapsed.TotalSeconds, tags);
        }
    }

    public void Ejected(ServiceKey service, DestinationState destination, AttemptOutcome outcome)
    {
        var tags = EndpointTags(service, destination);
        tags.Add(ReasonTag, ReasonOf(outcome));
        _ejections.Add(1, tags);
    }

    public void Readmitted(ServiceKey service, DestinationState destination)
    {
        if (_readmissions.Enabled)
        {
            _readmissions.Add(1, EndpointTags(service, destination));
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

    private static TagList EndpointTags(ServiceKey service, DestinationState destination)
    {
        var tags = new TagList
        {
            { NamespaceTag, service.Namespace },
            { ServiceTag, service.Name },
            { EndpointTag, destination.Authority },
        };
        if (destination.Endpoint.PodName is { } pod)
        {
            tags.Add(PodTag, pod);
        }

        return tags;
    }
}
