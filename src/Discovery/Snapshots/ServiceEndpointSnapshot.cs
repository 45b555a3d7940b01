using System.Collections.Immutable;
using Microsoft.Extensions.Primitives;

namespace Discovery;

/// <summary>
/// An immutable view of one Service's endpoints at one moment, published by a watcher with a single
/// reference swap. Readers never see a half-built set.
/// </summary>
public sealed class ServiceEndpointSnapshot
{
    private const int MaxCachedPortSelections = 32;

    private PortSelectionCacheEntry[] _portSelections = [];
    private volatile bool _superseded;
    private SnapshotChangeToken? _changeToken;

    /// <summary>Creates a snapshot.</summary>
    public ServiceEndpointSnapshot(
        ServiceKey service,
        bool serviceExists,
        KubernetesServiceInfo? serviceInfo,
        EndpointSourceKind source,
        ImmutableArray<ServiceEndpoint> endpoints,
        long version,
        string? resourceVersion,
        DateTimeOffset createdAt,
        bool includeNotReady = false)
    {
        Service = service;
        ServiceExists = serviceExists;
        ServiceInfo = serviceInfo;
        Source = source;
        Endpoints = endpoints.IsDefault ? [] : endpoints;
        Version = version;
        ResourceVersion = resourceVersion;
        CreatedAt = createdAt;
        IncludesNotReady = includeNotReady;

        var ready = 0;
        var notReady = 0;
        var terminating = 0;
        var servingTerminating = 0;
        foreach (var endpoint in Endpoints)
        {
            if (endpoint.IsReady)
            {
                ready++;
            }
            else if (endpoint.IsTerminating)
            {
                terminating++;
                if (endpoint.IsServing)
                {
                    servingTerminating++;
                }
            }
            else
            {
                notReady++;
            }
        }

        ReadyCount = ready;
        NotReadyCount = notReady;
        TerminatingCount = terminating;

        if (includeNotReady)
        {
            UsableEndpoints = Endpoints;
        }
        else if (ready == Endpoints.Length)
        {
            UsableEndpoints = Endpoints;
        }
        else if (ready > 0)
        {
            UsableEndpoints = Filter(Endpoints, ready, static e => e.IsReady);
        }
        else if (servingTerminating > 0)
        {
            UsableEndpoints = Filter(Endpoints, servingTerminating, static e => e.IsServing && e.IsTerminating);
            UsesTerminatingFallback = true;
        }
        else
        {
            UsableEndpoints = [];
        }
    }

    /// <summary>The Service this snapshot describes.</summary>
    public ServiceKey Service { get; }

    /// <summary>Whether the Service exists (for the pod-selector source: whether the selector is configured).</summary>
    public bool ServiceExists { get; }

    /// <summary>The Service object's relevant parts; <see langword="null"/> when it does not exist or the source is pods.</summary>
    public KubernetesServiceInfo? ServiceInfo { get; }

    /// <summary>Where the endpoints came from.</summary>
    public EndpointSourceKind Source { get; }

    /// <summary>Every endpoint known, merged across slices and de-duplicated by address, whatever its readiness.</summary>
    public ImmutableArray<ServiceEndpoint> Endpoints { get; }

    /// <summary>
    /// The endpoints that receive traffic: ready ones; when none is ready, those serving and terminating
    /// (the fallback kube-proxy applies); with the not-ready option, all.
    /// </summary>
    public ImmutableArray<ServiceEndpoint> UsableEndpoints { get; }

    /// <summary>Whether <see cref="UsableEndpoints"/> holds the serving-terminating fallback because none is ready.</summary>
    public bool UsesTerminatingFallback { get; }

    /// <summary>Number of ready endpoints.</summary>
    public int ReadyCount { get; }

    /// <summary>Number of endpoints neither ready nor terminating.</summary>
    public int NotReadyCount { get; }

    /// <summary>Number of terminating endpoints.</summary>
    public int TerminatingCount { get; }

    /// <summary>
    /// A number that increases with every snapshot the watcher publishes for this Service. A snapshot is published only
    /// when its content (endpoints with their readiness, ports and topology; the Service info; the source) changes.
    /// </summary>
    public long Version { get; }

    /// <summary>
    /// The Kubernetes resourceVersion at which this content was first seen, if known. Later versions that changed nothing
    /// discovery reads do not produce a new snapshot, so the API may be ahead of this value.
    /// </summary>
    public string? ResourceVersion { get; }

    /// <summary>When the snapshot was built (from the watcher's <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>
    /// Whether the <see cref="KubernetesServiceEndpointResolver"/> that published this snapshot has since published a newer one
    /// for the Service, or stopped watching it. Lets a caller keep a snapshot and check it with one read per request instead of
    /// looking the Service up again; once <see langword="true"/>, ask the resolver for the current one. Snapshots built by other
    /// code are never marked.
    /// </summary>
    public bool IsSuperseded => _superseded;

    /// <summary>
    /// A change token that fires once, when the publishing <see cref="KubernetesServiceEndpointResolver"/> has made a newer
    /// snapshot of the Service current or stopped watching it: the push signal for consumers that cache what they derived
    /// from this snapshot (the MESD provider, the YARP destination resolver, the gRPC resolver). Its callbacks run after
    /// the newer snapshot is visible, so a callback that looks the Service up again gets it; they run on the watcher's
    /// task, like <see cref="IServiceEndpointResolver.Subscribe"/> callbacks: keep them short and non-blocking.
    /// </summary>
    /// <remarks>
    /// The token belongs to the snapshot, not to whoever reads it, so any number of consumers share it and none has to
    /// dispose it. It is created on first read (one object per snapshot, none for snapshots nobody asks about);
    /// <see cref="IChangeToken.HasChanged"/> is one field read. A snapshot built by other code never fires.
    /// </remarks>
    public IChangeToken ChangeToken => Volatile.Read(ref _changeToken) ?? CreateChangeToken();

    /// <summary>
    /// Called by the publishing watcher only, once a newer snapshot is current or the watch has stopped. Sets
    /// <see cref="IsSuperseded"/> without firing <see cref="ChangeToken"/>: call <see cref="SignalSuperseded"/> once the
    /// newer snapshot is visible.
    /// </summary>
    internal void MarkSuperseded() => _superseded = true;

    /// <summary>
    /// Called by the publishing watcher only: marks the snapshot superseded (if not yet) and fires <see cref="ChangeToken"/>.
    /// Idempotent. Exceptions thrown by token callbacks surface as one <see cref="AggregateException"/> after all have run.
    /// </summary>
    internal void SignalSuperseded()
    {
        _superseded = true;
        (Volatile.Read(ref _changeToken) ?? CreateChangeToken()).Fire();
    }

    private SnapshotChangeToken CreateChangeToken()
    {
        var created = new SnapshotChangeToken();
        return Interlocked.CompareExchange(ref _changeToken, created, null) ?? created;
    }

    /// <summary>
    /// Maps a request's port to endpoint ports (BRIEF §2.2): an explicit URI port selects the Service port with that
    /// number; a <c>_name.</c> label selects the endpoint port of that name; no port selects the only port, or the one
    /// named like the scheme, or <paramref name="defaultPortName"/>. Only TCP ports are selected: UDP and SCTP ports stay
    /// in <see cref="ServiceEndpoint.Ports"/> but never receive a request.
    /// </summary>
    /// <param name="uriPort">The port written in the URI, or <see langword="null"/>.</param>
    /// <param name="portName">The port name from a <c>_name.</c> label, or <see langword="null"/>.</param>
    /// <param name="scheme">The URI scheme (<c>http</c>, <c>https</c>).</param>
    /// <param name="defaultPortName">The configured default port name, or <see langword="null"/>.</param>
    /// <returns>A cached selection; the same arguments return the same instance for this snapshot.</returns>
    /// <exception cref="ServicePortNotFoundException">No port matches; the message lists the port names.</exception>
    public PortSelection SelectPort(int? uriPort, string? portName, string scheme, string? defaultPortName)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        var cache = Volatile.Read(ref _portSelections);
        foreach (var entry in cache)
        {
            if (entry.Matches(uriPort, portName, scheme, defaultPortName))
            {
                return entry.Selection;
            }
        }

        var selection = PortSelector.Select(this, uriPort, portName, scheme, defaultPortName);
        var added = new PortSelectionCacheEntry(uriPort, portName, scheme, defaultPortName, selection);
        while (true)
        {
            // Copy-on-write: readers iterate whatever array they loaded, writers race with compare-and-swap.
            var current = Volatile.Read(ref _portSelections);
            foreach (var entry in current)
            {
                if (entry.Matches(uriPort, portName, scheme, defaultPortName))
                {
                    return entry.Selection;
                }
            }

            if (current.Length >= MaxCachedPortSelections)
            {
                // Request URIs are user input: never let them grow the cache without bound.
                return selection;
            }

            var next = new PortSelectionCacheEntry[current.Length + 1];
            current.CopyTo(next, 0);
            next[^1] = added;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _portSelections, next, current), current))
            {
                return selection;
            }
        }
    }

    /// <summary>Whether <see cref="UsableEndpoints"/> includes not-ready endpoints by configuration.</summary>
    public bool IncludesNotReady { get; }

    /// <summary>Whether there is at least one endpoint that may receive traffic.</summary>
    public bool HasUsableEndpoints => UsableEndpoints.Length > 0;

    /// <summary>Returns <c>namespace/name: N usable of M (source, version)</c>.</summary>
    public override string ToString()
        => $"{Service}: {UsableEndpoints.Length} usable of {Endpoints.Length} ({Source}, v{Version}{(ServiceExists ? string.Empty : ", no such Service")})";

    private static ImmutableArray<ServiceEndpoint> Filter(ImmutableArray<ServiceEndpoint> source, int count, Func<ServiceEndpoint, bool> predicate)
    {
        var builder = ImmutableArray.CreateBuilder<ServiceEndpoint>(count);
        foreach (var endpoint in source)
        {
            if (predicate(endpoint))
            {
                builder.Add(endpoint);
            }
        }

        return builder.MoveToImmutable();
    }
}
