using System.Diagnostics;
using static Discovery.Http.DiscoveryHttpInstrumentation;

namespace Discovery.Http;

/// <summary>
/// The activity of one attempt on one endpoint. It is current while the attempt is handed to the inner handler, so that the
/// <c>System.Net.Http</c> client span (created inside the primary handler) is its child, and it carries the Service, namespace,
/// chosen pod and resend count of that attempt only: the caller's activity is left as it was.
/// </summary>
internal static class AttemptActivity
{
    // One source for the process, as System.Net.Http has: an ActivitySource holds no state but its listeners.
    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>Starts the attempt's activity (null when nobody listens); the caller restores <see cref="Activity.Current"/> after the send started.</summary>
    public static Activity? Start(ServiceKey service, Uri originalUri, DestinationState destination, int attempt)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(AttemptActivityName, ActivityKind.Internal);
        if (activity is null || !activity.IsAllDataRequested)
        {
            return activity;
        }

        var endpoint = destination.Endpoint;
        activity.SetTag(ServiceTag, service.Name);
        activity.SetTag(NamespaceTag, service.Namespace);
        activity.SetTag(PodTag, endpoint.PodName);
        activity.SetTag(PeerAddressTag, endpoint.Address);
        activity.SetTag(PeerPortTag, destination.Target.Port);
        activity.SetTag(ZoneTag, endpoint.Zone);
        activity.SetTag(ServerAddressTag, originalUri.IdnHost);
        activity.SetTag(ServerPortTag, originalUri.Port);
        if (attempt > 0)
        {
            activity.SetTag(ResendCountTag, attempt);
        }

        return activity;
    }

    public static void Stop(Activity activity, AttemptOutcome outcome, int? statusCode)
    {
        if (activity.IsAllDataRequested)
        {
            if (statusCode is { } status)
            {
                activity.SetTag(StatusCodeTag, status);
            }

            if (outcome != AttemptOutcome.Success)
            {
                activity.SetTag(ErrorTypeTag, DiscoveryHttpMetrics.ReasonOf(outcome));
                activity.SetStatus(ActivityStatusCode.Error);
            }
        }

        activity.Stop();
    }
}
