namespace Discovery.Http;

/// <summary>
/// The snapshot step: the current snapshot of the request's Service. Once the Service's watcher has synced this takes no lock and
/// no allocation: the host entry holds the snapshot it last looked up when the resolver marks the snapshots it replaces
/// (<see cref="ResolverCapabilities.MarksSupersededSnapshots"/>), else the resolver is asked. The first request to a Service waits
/// for the initial list; a <c>svc.ns</c> host that is no Service this app can use goes to DNS instead.
/// </summary>
internal static class SnapshotLookup
{
    // How long a "name.namespace" host that discovery could not tell to be a Service goes straight to DNS.
    private static readonly TimeSpan PassThroughMemory = TimeSpan.FromMinutes(1);

    /// <summary>The snapshot at hand without waiting: the one held by the entry, else the resolver's; null before the first sync.</summary>
    /// <param name="client">The client.</param>
    /// <param name="entry">The host entry (a valid Service name).</param>
    /// <param name="now">The client clock's timestamp of the request.</param>
    public static ServiceEndpointSnapshot? TryGetCurrent(DiscoveryClient client, HostEntry entry, long now)
        => entry.GetHeldSnapshot(now) ?? LookUp(client, entry, now);

    /// <summary>
    /// Waits for the Service's snapshot. Returns the route the request takes: <see cref="RequestRoute.Service"/> with the snapshot
    /// of an existing Service, or <see cref="RequestRoute.PassThrough"/> / <see cref="RequestRoute.AbsoluteName"/> for a
    /// <c>svc.ns</c> host that is no Service this app can use. Throws <see cref="DiscoveryHttpRequestException"/> otherwise.
    /// </summary>
    public static async ValueTask<(RequestRoute Route, ServiceEndpointSnapshot? Snapshot)> WaitAsync(DiscoveryClient client, HostEntry entry, CancellationToken cancellationToken)
    {
        var service = entry.Service;
        if (entry.Match == ServiceHostMatch.Invalid)
        {
            throw new DiscoveryHttpRequestException(new InvalidServiceNameException(entry.Host, entry.Parse.Error ?? "malformed name", service));
        }

        var mayBeExternal = entry.Match == ServiceHostMatch.ServiceIfExists;
        if (!client.Resolver.TryGetSnapshot(service, out var snapshot))
        {
            try
            {
                // "name.namespace" may be an external name: the resolver answers null when no Service the app can see has it.
                snapshot = mayBeExternal
                    ? await client.Resolver.GetSnapshotIfVisibleAsync(service, cancellationToken).ConfigureAwait(false)
                    : await client.Resolver.GetSnapshotAsync(service, cancellationToken).ConfigureAwait(false);
            }
            catch (NamespaceNotAllowedException e) when (mayBeExternal)
            {
                // The allow-list is fixed for the app's lifetime, so this host is remembered as external for good.
                entry.OutsideAllowedNamespaces = true;
                Log.PassingThroughAsAbsoluteName(client.Logger, entry.Host, e.Service.Namespace);
                return (RequestRoute.AbsoluteName, null);
            }
            catch (DiscoveryException e) when (mayBeExternal)
            {
                // "name.namespace" is also the shape of external names such as "example.com": when discovery cannot tell
                // whether such a Service exists, DNS decides, and is asked directly for a while.
                var clock = client.TimeProvider;
                entry.PassThroughUntil(clock.GetTimestamp() + (long)(PassThroughMemory.TotalSeconds * clock.TimestampFrequency));
                Log.PassingThrough(client.Logger, entry.Host, e.GetType().Name);
                return (RequestRoute.PassThrough, null);
            }
            catch (DiscoveryException e)
            {
                throw new DiscoveryHttpRequestException(e);
            }
        }

        if (snapshot is null || !snapshot.ServiceExists)
        {
            return mayBeExternal ? (RequestRoute.PassThrough, null) : throw new DiscoveryHttpRequestException(new ServiceNotFoundException(service));
        }

        return (RequestRoute.Service, snapshot);
    }

    /// <summary>
    /// Asks the resolver (which marks the Service in use, keeping its watcher) and, when the resolver marks the snapshots it
    /// replaces, holds the answer on the host entry so that the next requests skip the lookup until it is superseded or due.
    /// </summary>
    private static ServiceEndpointSnapshot? LookUp(DiscoveryClient client, HostEntry entry, long now)
    {
        if (!client.Resolver.TryGetSnapshot(entry.Service, out var snapshot))
        {
            return null;
        }

        if (client.Capabilities.MarksSupersededSnapshots)
        {
            entry.HoldSnapshot(snapshot, now + client.SnapshotRecheckInterval);
        }

        return snapshot;
    }
}
