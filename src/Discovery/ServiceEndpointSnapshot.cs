using System.Collections.Immutable;

namespace Discovery;

/// <summary>
/// An immutable view of one Service's endpoints at one moment, published by a watcher with a single
/// reference swap. Readers never see a half-built set.
/// </summary>
public sealed class ServiceEndpointSnapshot
{
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
        throw new NotImplementedException("core engine: compute UsableEndpoints, counts, fallback");
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

    /// <summary>A number that increases with every snapshot the watcher publishes for this Service.</summary>
    public long Version { get; }

    /// <summary>The Kubernetes resourceVersion the snapshot reflects, if known.</summary>
    public string? ResourceVersion { get; }

    /// <summary>When the snapshot was built (from the watcher's <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>
    /// Maps a request's port to endpoint ports (BRIEF §2.2): an explicit URI port selects the Service port with that
    /// number; a <c>_name.</c> label selects the endpoint port of that name; no port selects the only port, or the one
    /// named like the scheme, or <paramref name="defaultPortName"/>.
    /// </summary>
    /// <param name="uriPort">The port written in the URI, or <see langword="null"/>.</param>
    /// <param name="portName">The port name from a <c>_name.</c> label, or <see langword="null"/>.</param>
    /// <param name="scheme">The URI scheme (<c>http</c>, <c>https</c>).</param>
    /// <param name="defaultPortName">The configured default port name, or <see langword="null"/>.</param>
    /// <returns>A cached selection; the same arguments return the same instance for this snapshot.</returns>
    /// <exception cref="ServicePortNotFoundException">No port matches; the message lists the port names.</exception>
    public PortSelection SelectPort(int? uriPort, string? portName, string scheme, string? defaultPortName)
        => throw new NotImplementedException();
}
