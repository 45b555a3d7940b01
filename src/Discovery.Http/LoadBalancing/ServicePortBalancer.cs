using Microsoft.Extensions.Logging;

namespace Discovery.Http;

/// <summary>
/// Load balancing and passive health for one port of one Service, for one client. Holds the current
/// <see cref="DestinationSet"/>, rebuilt only when a newer snapshot arrives, and ejects failing endpoints.
/// </summary>
internal sealed class ServicePortBalancer
{
    private readonly DiscoveryClient _client;
    private volatile DestinationSet? _current;
    private int _healthVersion;
    private int _panicking;
    private int _retired;
    private AffinitySlot? _affinity;
    private int _affinityGeneration;
    private UsageMark _usage;

    public ServicePortBalancer(DiscoveryClient client, ServiceKey service, string portName)
    {
        _client = client;
        _usage = new UsageMark(client.TimeProvider.GetTimestamp());
        Service = service;
        PortName = portName;
    }

    public ServiceKey Service { get; }

    public string PortName { get; }

    public SequenceCounter Sequence { get; } = new();

    /// <summary>Whether the idle sweep removed the balancer: requests that still hold it finish with it, new ones get a new one.</summary>
    public bool IsRetired => Volatile.Read(ref _retired) != 0;

    /// <summary>Marks the balancer used, so that the idle sweep keeps it.</summary>
    public void Touch() => _usage.Touch();

    /// <summary>
    /// Called by the idle sweep only: retires the balancer when it went unused for <paramref name="idleTimeout"/> and no request
    /// of it is waiting for its response headers. Returns whether it did.
    /// </summary>
    public bool TryRetire(long now, TimeSpan idleTimeout)
    {
        if (!_usage.IsIdle(now, idleTimeout, _client.TimeProvider))
        {
            return false;
        }

        if (_current is { } set)
        {
            foreach (var destination in set.All)
            {
                if (destination.Statistics.Outstanding > 0)
                {
                    return false;
                }
            }
        }

        Volatile.Write(ref _retired, 1);
        return true;
    }

    /// <summary>Returns the destination set for a port selection, building it once per snapshot.</summary>
    public DestinationSet GetDestinationSet(PortSelection selection)
    {
        while (true)
        {
            var current = _current;
            if (current is not null && (ReferenceEquals(current.Snapshot, selection.Snapshot) || IsOlder(selection.Snapshot, current.Snapshot))
                && (current.Zone is not null || _client.Zone is null))
            {
                // A request that read an older snapshot uses the newer set: it is the better truth.
                return current;
            }

            var built = Build(selection, current);
            if (Interlocked.CompareExchange(ref _current, built, current) == current)
            {
                return built;
            }
        }
    }

    /// <summary>Picks a destination, avoiding those in <paramref name="avoid"/>.</summary>
    /// <param name="set">The destination set.</param>
    /// <param name="context">The request.</param>
    /// <param name="avoid">Endpoints that already failed this request.</param>
    /// <param name="strict">Whether an avoided endpoint must never be picked (our own retries) rather than only preferably not (a new outer attempt).</param>
    /// <param name="now">The <see cref="TimeProvider"/> timestamp of the request (read once per request by the handler).</param>
    public DestinationState? Pick(DestinationSet set, in LoadBalancingContext context, TriedEndpoints? avoid, bool strict, long now)
    {
        var candidates = GetCandidates(set, now);
        if (avoid is { Count: > 0 })
        {
            var untried = Exclude(candidates, avoid);
            if (untried.Length == 0)
            {
                // Every healthy local endpoint failed this request: any other one is better than one known to fail.
                untried = Exclude(set.All, avoid);
            }

            if (untried.Length > 0)
            {
                candidates = untried;
            }
            else if (strict)
            {
                return null;
            }
        }

        if (set.AffinityTimeout == 0)
        {
            var chosen = _client.Policy.PickDestination(context, candidates);
            return chosen is { SlowStartSince: not 0 } ? SlowStart.Apply(_client.Policy, context, chosen, candidates, set.View, set.SlowStartWindow, now) : chosen;
        }

        // sessionAffinity: ClientIP — the endpoint this process last used for the port, while it is a candidate and its stickiness lasts.
        var slot = GetAffinitySlot();
        if (slot.Current(now, set.AffinityTimeout) is { } authority && set.IndexByAuthority!.TryGetValue(authority, out var index)
            && IsCandidate(set.All[index], candidates, set.View, now))
        {
            slot.Touch(now);
            return set.All[index];
        }

        var picked = _client.Policy.PickDestination(context, candidates);
        if (picked is not null)
        {
            if (picked.SlowStartSince != 0)
            {
                picked = SlowStart.Apply(_client.Policy, context, picked, candidates, set.View, set.SlowStartWindow, now);
            }

            slot.Stick(picked, now, set.AffinityTimeout);
        }

        return picked;
    }

    /// <summary>The affinity slot of this Service port, looked up again once the shared table dropped expired slots.</summary>
    internal AffinitySlot GetAffinitySlot()
    {
        var table = _client.Affinity;
        var generation = table.Generation;
        var slot = _affinity;
        if (slot is null || generation != Volatile.Read(ref _affinityGeneration))
        {
            slot = table.Get(Service, PortName);
            _affinity = slot;
            Volatile.Write(ref _affinityGeneration, generation);
        }

        return slot;
    }

    private static bool IsCandidate(DestinationState destination, DestinationState[] candidates, CandidateView? view, long now)
    {
        if (view is null || !ReferenceEquals(candidates, view.Candidates))
        {
            // Narrowed for this request (endpoints it already failed on): rare, so a scan.
            return Array.IndexOf(candidates, destination) >= 0;
        }

        return view.Panic || (!destination.Statistics.IsEjected(now) && (!view.PreferredOnly || destination.IsPreferred));
    }

    /// <summary>Feeds the outcome of an attempt to passive health and the latency estimate.</summary>
    /// <param name="destination">The destination of the attempt.</param>
    /// <param name="outcome">How the attempt ended.</param>
    /// <param name="elapsed">The time to response headers.</param>
    /// <param name="now">The <see cref="TimeProvider"/> timestamp at which the attempt ended.</param>
    public void ReportOutcome(DestinationState destination, AttemptOutcome outcome, TimeSpan elapsed, long now)
    {
        var statistics = destination.Statistics;
        switch (outcome)
        {
            case AttemptOutcome.Success:
                statistics.RecordLatency(elapsed, now);
                statistics.RecordSuccess(now);
                return;
            case AttemptOutcome.ServerError:
                statistics.RecordLatency(elapsed, now);
                break;
            case AttemptOutcome.TlsFailure:
                // A certificate problem affects every endpoint alike; ejecting would only hide it.
                return;
            case AttemptOutcome.Canceled:
                // The caller gave up (its token, HttpClient.Timeout, hedging): no verdict on the endpoint, and no latency sample.
                return;
        }

        var health = _client.Options.PassiveHealth;
        if (!health.Enabled)
        {
            return;
        }

        if (outcome == AttemptOutcome.ConnectFailure || statistics.RecordFailure() >= health.ConsecutiveFailures)
        {
            TryEject(destination, outcome);
        }
    }

    private static bool IsOlder(ServiceEndpointSnapshot candidate, ServiceEndpointSnapshot current)
        => candidate.Version < current.Version && candidate.CreatedAt <= current.CreatedAt;

    private static DestinationState[] Exclude(DestinationState[] candidates, TriedEndpoints avoid)
    {
        var count = 0;
        foreach (var candidate in candidates)
        {
            if (!avoid.Contains(candidate.Authority))
            {
                count++;
            }
        }

        if (count == candidates.Length)
        {
            return candidates;
        }

        var result = new DestinationState[count];
        var i = 0;
        foreach (var candidate in candidates)
        {
            if (!avoid.Contains(candidate.Authority))
            {
                result[i++] = candidate;
            }
        }

        return result;
    }

    private static DestinationState[] Healthy(DestinationState[] destinations, long now, int ejected)
    {
        if (ejected == 0)
        {
            return destinations;
        }

        var result = new List<DestinationState>(destinations.Length);
        foreach (var destination in destinations)
        {
            if (!destination.Statistics.IsEjected(now))
            {
                result.Add(destination);
            }
        }

        return result.Count == destinations.Length ? destinations : [.. result];
    }

    private DestinationState[] GetCandidates(DestinationSet set, long now)
    {
        var view = set.View;
        if (view is not null && view.HealthVersion == Volatile.Read(ref _healthVersion) && now < view.ValidUntil)
        {
            return view.Candidates;
        }

        view = ComputeView(set, now);
        set.View = view;
        return view.Candidates;
    }

    private CandidateView ComputeView(DestinationSet set, long now)
    {
        // Read the version first: an ejection racing with this computation then invalidates the result.
        var version = Volatile.Read(ref _healthVersion);
        var validUntil = long.MaxValue;
        var ejected = 0;
        foreach (var destination in set.All)
        {
            var until = destination.Statistics.EjectedUntil;
            if (now < until)
            {
                ejected++;
                validUntil = Math.Min(validUntil, until);
            }
            else if (until != 0 && destination.Statistics.TryTakeReadmission(now))
            {
                // The view is recomputed when an ejection ends: the first request after that sees the endpoint back.
                _client.Metrics.Readmitted(Service, destination, _client.Options.EndpointMetricTags);
                Log.Readmitted(_client.Logger, destination.Authority, destination.Endpoint.PodName, Service.Namespace, Service.Name, destination.Statistics.EjectionLevel);
            }
        }

        var healthy = Healthy(set.All, now, ejected);
        var panic = healthy.Length == 0;
        if (panic)
        {
            healthy = set.All;
            if (Interlocked.Exchange(ref _panicking, 1) == 0)
            {
                Log.Panic(_client.Logger, Service.Namespace, Service.Name, set.All.Length);
            }
        }
        else
        {
            Volatile.Write(ref _panicking, 0);
        }

        var candidates = healthy;
        var preferredOnly = false;
        if (set.Local.Length > 0 && !panic)
        {
            var local = Healthy(set.Local, now, ejected);
            if (local.Length > 0 && local.Length >= set.MinLocalShare * healthy.Length)
            {
                candidates = local;
                preferredOnly = true;
            }
        }

        DestinationState[]? warm = null;
        if (set.SlowStartWindow > 0)
        {
            // The view is recomputed when the first slow start in it ends, so that the endpoint then counts as warm.
            warm = SlowStart.Warm(candidates, set.SlowStartWindow, now);
            foreach (var candidate in candidates)
            {
                if (candidate.SlowStartSince != 0 && now - candidate.SlowStartSince < set.SlowStartWindow)
                {
                    validUntil = Math.Min(validUntil, candidate.SlowStartSince + set.SlowStartWindow);
                }
            }
        }

        return new CandidateView(version, validUntil, candidates, panic, preferredOnly, warm);
    }

    private void TryEject(DestinationState destination, AttemptOutcome outcome)
    {
        var statistics = destination.Statistics;
        var now = _client.TimeProvider.GetTimestamp();
        if (statistics.IsEjected(now))
        {
            return;
        }

        var set = _current;
        var health = _client.Options.PassiveHealth;
        var total = set?.All.Length ?? 1;
        var ejected = 0;
        if (set is not null)
        {
            foreach (var other in set.All)
            {
                if (other.Statistics.IsEjected(now))
                {
                    ejected++;
                }
            }
        }

        var limit = (int)Math.Floor(health.MaxEjectedShare * total);
        if (ejected + 1 > limit)
        {
            Log.EjectionLimited(_client.Logger, destination.Authority, Service.Namespace, Service.Name, ejected, total, limit);
            return;
        }

        var level = statistics.Eject(now, health.BaseEjectionDuration, health.MaxEjectionDuration, out var duration);
        Interlocked.Increment(ref _healthVersion);
        _client.Metrics.Ejected(Service, destination, outcome, _client.Options.EndpointMetricTags);
        Log.Ejected(_client.Logger, destination.Authority, destination.Endpoint.PodName, Service.Namespace, Service.Name, duration, outcome, level);
    }

    private DestinationSet Build(PortSelection selection, DestinationSet? previous) => DestinationSetBuilder.Build(this, _client, selection, previous);
}
