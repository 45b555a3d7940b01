using System.Diagnostics;

namespace Discovery.Http;

/// <summary>
/// The observe step: what happens around each attempt's send. At the start it counts the pick and the request in flight and
/// starts the attempt's activity; at the end it feeds the outcome and latency to the endpoint's passive health and latency
/// estimate, records the attempt's duration and stops its activity. Allocates nothing unless someone listens (metrics, tracing)
/// or a gRPC call's status is still to come in its trailers.
/// </summary>
internal static class AttemptObserver
{
    /// <summary>
    /// Starts the attempt on the request's destination at <paramref name="started"/> (a timestamp of the client's clock); its
    /// activity becomes current, and the caller restores the previous one once the send has started.
    /// </summary>
    public static void Begin(DiscoveryClient client, ref ServiceRequest request, long started)
    {
        var metrics = client.Metrics;
        var destination = request.Destination;
        var service = request.Service;
        metrics.Picked(service, destination, client.Options.EndpointMetricTags);
        request.Activity = AttemptActivity.Start(service, request.OriginalUri, destination, request.Attempt);
        destination.Statistics.Started();
        metrics.Started(service);
        request.Started = started;
    }

    /// <summary>Ends the current attempt with <paramref name="outcome"/> and, when there is one, its <paramref name="response"/>.</summary>
    public static void End(DiscoveryClient client, ref ServiceRequest request, AttemptOutcome outcome, HttpResponseMessage? response)
    {
        var metrics = client.Metrics;
        var destination = request.Destination;
        var balancer = request.Set.Balancer;
        var activity = request.Activity;
        request.Activity = null;
        int? statusCode = response is null ? null : (int)response.StatusCode;
        destination.Statistics.Finished();
        metrics.Finished(balancer.Service);
        var end = client.GetTimestamp();
        var elapsed = client.TimeProvider.GetElapsedTime(request.Started, end);
        var perEndpoint = client.Options.EndpointMetricTags;
        if (outcome == AttemptOutcome.Success && response is { Version.Major: >= 2 } && GrpcStatusClassifier.IsGrpc(response))
        {
            // A gRPC call answers 200 whatever happened: its status is a grpc-status header (trailers-only) or trailer.
            if (!GrpcStatusClassifier.TryGetStatus(response.Headers, out var status))
            {
                ReportWhenTrailersArrive(client, balancer, destination, response, elapsed);
                metrics.Completed(balancer.Service, destination, request.Message.Method, request.OriginalUri, elapsed, statusCode, outcome, perEndpoint);
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

        balancer.ReportOutcome(destination, outcome, elapsed, end);
        metrics.Completed(balancer.Service, destination, request.Message.Method, request.OriginalUri, elapsed, statusCode, outcome, perEndpoint);
        if (activity is not null)
        {
            AttemptActivity.Stop(activity, outcome, statusCode);
        }
    }

    /// <summary>Defers the outcome of a gRPC call whose status comes in the trailers until the response content has read them.</summary>
    /// <remarks>
    /// A method of its own on purpose: had <see cref="End"/> held this lambda, its captures would be hoisted into a display class
    /// allocated on every call (48 B per request, gRPC or not), not only when this branch runs.
    /// </remarks>
    private static void ReportWhenTrailersArrive(DiscoveryClient client, ServicePortBalancer balancer, DestinationState destination, HttpResponseMessage response, TimeSpan elapsed)
        => response.Content = new GrpcTrailersContent(response, response.Content, late => balancer.ReportOutcome(destination, late, elapsed, client.GetTimestamp()));
}
