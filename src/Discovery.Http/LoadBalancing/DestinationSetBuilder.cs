namespace Discovery.Http;

/// <summary>
/// Builds the <see cref="DestinationSet"/> of a Service port for a new snapshot: the Service's traffic policy and topology
/// (<see cref="TopologyFilter"/>), endpoint statistics carried over by authority, the session-affinity index and slow start.
/// </summary>
internal static class DestinationSetBuilder
{
    public static DestinationSet Build(ServicePortBalancer balancer, DiscoveryClient client, PortSelection selection, DestinationSet? previous)
    {
        var zone = client.Zone;
        var topology = TopologyFilter.Choose(selection, client.NodeName, zone, client.ConfiguredZone, client.Options.PreferLocalZone, client.Options.MinLocalZoneShare);
        var targets = topology.Reachable;
        var statistics = new Dictionary<string, EndpointStatistics>(targets.Length, StringComparer.Ordinal);
        var all = new DestinationState[targets.Length];
        var localCount = 0;
        for (var i = 0; i < targets.Length; i++)
        {
            var target = targets[i];
            if (!statistics.TryGetValue(target.Authority, out var stats))
            {
                if (previous is null || !previous.Statistics.TryGetValue(target.Authority, out stats))
                {
                    stats = new EndpointStatistics(target.Authority, client.TimeProvider);
                }

                statistics[target.Authority] = stats;
            }

            all[i] = new DestinationState(target, stats) { IsPreferred = topology.Preferred?[i] == true };
            localCount += all[i].IsPreferred ? 1 : 0;
        }

        var (readySince, slowStartWindow) = TrackSlowStart(client, all, previous);
        var local = localCount == 0 ? [] : new DestinationState[localCount];
        for (int i = 0, j = 0; j < localCount; i++)
        {
            if (topology.Preferred![i])
            {
                local[j++] = all[i];
            }
        }

        Dictionary<string, int>? index = null;
        long affinityTimeout = 0;
        if (selection.Snapshot.ServiceInfo?.SessionAffinityTimeout is { } timeout && all.Length > 0)
        {
            affinityTimeout = Math.Max(1, (long)(timeout.TotalSeconds * client.TimeProvider.TimestampFrequency));
            index = new Dictionary<string, int>(all.Length, StringComparer.Ordinal);
            for (var i = 0; i < all.Length; i++)
            {
                index.TryAdd(all[i].Authority, i);
            }
        }

        return new DestinationSet(balancer, selection, all, local, statistics, topology, zone)
        {
            IndexByAuthority = index,
            AffinityTimeout = affinityTimeout,
            ReadySince = readySince,
            SlowStartWindow = slowStartWindow,
        };
    }

    /// <summary>
    /// Carries over when each destination became usable, and marks those that did so within the slow-start window. The first
    /// set of the balancer holds what was there from the start: none of it is slowed.
    /// </summary>
    private static (Dictionary<string, long>? ReadySince, long Window) TrackSlowStart(DiscoveryClient client, DestinationState[] all, DestinationSet? previous)
    {
        if (client.Options.SlowStartWindow is not { } configured)
        {
            return (null, 0);
        }

        var window = Math.Max(1, (long)(configured.TotalSeconds * client.TimeProvider.TimestampFrequency));
        var now = client.TimeProvider.GetTimestamp();
        var readySince = new Dictionary<string, long>(all.Length, StringComparer.Ordinal);
        foreach (var destination in all)
        {
            long since;
            if (previous?.ReadySince is not { } earlier)
            {
                since = 0;
            }
            else if (!earlier.TryGetValue(destination.Authority, out since))
            {
                since = now;
            }

            readySince[destination.Authority] = since;
            if (since != 0 && now - since < window)
            {
                destination.SlowStartSince = since;
            }
        }

        return (readySince, window);
    }
}
