namespace Discovery.Http;

/// <summary>
/// The pick step: maps the request's port to the Service's target port, finds the balancer of that Service port, and asks it for
/// a destination — for the first attempt, and again on the newest snapshot for a retry. Takes no lock and allocates nothing
/// while the snapshot, port and host are those of the request before.
/// </summary>
internal static class EndpointPicker
{
    /// <summary>
    /// Picks the first attempt's destination from <paramref name="snapshot"/> into <paramref name="request"/>; returns the error
    /// to fail the request with, or <see langword="null"/> when a destination was picked.
    /// </summary>
    /// <param name="client">The client.</param>
    /// <param name="request">The request; its <see cref="ServiceRequest.Set"/> and <see cref="ServiceRequest.Destination"/> are set.</param>
    /// <param name="snapshot">The Service's snapshot (it exists).</param>
    /// <param name="now">The client clock's timestamp of the request.</param>
    public static DiscoveryHttpRequestException? PickFirst(DiscoveryClient client, ref ServiceRequest request, ServiceEndpointSnapshot snapshot, long now)
    {
        var service = request.Service;
        PortSelection selection;
        try
        {
            selection = SelectPort(client, snapshot, request.OriginalUri, request.Entry);
        }
        catch (ServicePortNotFoundException e)
        {
            return new DiscoveryHttpRequestException(e);
        }

        if (selection.Targets.IsEmpty)
        {
            return new DiscoveryHttpRequestException(
                new NoReadyEndpointsException(service, snapshot.NotReadyCount, snapshot.TerminatingCount, selection.PortName.Length == 0 ? null : selection.PortName));
        }

        var balancer = client.GetBalancer(request.Entry, selection.PortName);
        var set = balancer.GetDestinationSet(selection);
        if (set.Failure is { } topologyFailure)
        {
            // internalTrafficPolicy: Local with no endpoint on this node (or no node name): kube-proxy would drop the traffic.
            return new DiscoveryHttpRequestException(topologyFailure);
        }

        // An outer retry (Polly, the standard resilience handler) re-sends this same message: go elsewhere than before.
        var failed = client.GetFailedEndpoints(request.Message);
        var destination = balancer.Pick(set, new LoadBalancingContext(request.Message, service, 0, balancer.Sequence), failed, strict: false, now);
        if (destination is null)
        {
            return new DiscoveryHttpRequestException(
                DiscoveryFailureReason.NoEndpointPicked,
                service,
                $"The load-balancing policy '{client.Policy.Name}' picked no endpoint of Service '{service.Name}' in namespace '{service.Namespace}' out of {set.All.Length}.");
        }

        request.Set = set;
        request.Destination = destination;
        return null;
    }

    /// <summary>
    /// Picks the next attempt's destination, never one that already failed the request, from the Service's newest snapshot (the
    /// endpoint that failed may already be gone from it). Returns <see langword="false"/> when no endpoint is left to try.
    /// </summary>
    public static bool TryPickRetry(DiscoveryClient client, ref ServiceRequest request)
    {
        var set = request.Set;
        var balancer = set.Balancer;
        var selection = set.Selection;
        var uri = request.OriginalUri;
        if (client.Resolver.TryGetSnapshot(request.Service, out var latest) && latest.ServiceExists && !ReferenceEquals(latest, selection.Snapshot))
        {
            try
            {
                var latestSelection = latest.SelectPort(uri.IsDefaultPort ? null : uri.Port, request.Entry.Parse.PortName, uri.Scheme, client.DefaultPortName);
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
        var context = new LoadBalancingContext(request.Message, request.Service, request.Attempt + 1, balancer.Sequence);
        var next = balancer.Pick(set, context, client.GetFailedEndpoints(request.Message), strict: true, client.GetTimestamp());
        if (next is null)
        {
            return false;
        }

        request.Set = set;
        request.Destination = next;
        return true;
    }

    /// <summary>The port selection for the request, reused from the host entry while the snapshot, URI port and scheme are the same.</summary>
    private static PortSelection SelectPort(DiscoveryClient client, ServiceEndpointSnapshot snapshot, Uri uri, HostEntry entry)
    {
        int? port = uri.IsDefaultPort ? null : uri.Port;
        var scheme = uri.Scheme;
        var route = entry.LastRoute;
        if (route is not null && route.Matches(snapshot, port, scheme))
        {
            return route.Selection;
        }

        var selection = snapshot.SelectPort(port, entry.Parse.PortName, scheme, client.DefaultPortName);
        entry.LastRoute = new HostEntry.PortRoute(snapshot, port, scheme, selection);
        return selection;
    }
}
