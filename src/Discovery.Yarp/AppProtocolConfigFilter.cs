using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Discovery.Yarp;

/// <summary>
/// Gives a YARP cluster whose destinations are all on <c>kubernetes.io/h2c</c> Service ports the HTTP version those pods
/// speak: HTTP/2 with prior knowledge. YARP's default (2.0 or lower) means HTTP/1.1 over <c>http://</c>, which an h2c-only
/// server (a gRPC server, Kestrel with <c>Http2</c> only) rejects.
/// </summary>
/// <remarks>
/// <para>YARP runs config filters after the destination resolver, on every reload, so this sees the expanded destinations and
/// their <see cref="KubernetesDestinationMetadata.AppProtocol"/>; a Service whose appProtocol changes reaches the cluster on the
/// reload its change causes. The cluster's own <c>HttpRequest</c> is the one place YARP takes a version from: its forwarder,
/// its WebSocket handling (HTTP/2 extended CONNECT) and its active health probes all read it.</para>
/// <para>YARP has no per-destination version. A cluster that mixes h2c destinations with others, or sets <c>Version</c> or
/// <c>VersionPolicy</c> itself to something that is not HTTP/2 on cleartext, is left as configured and named in a warning, once
/// per cluster and Service set (the set of clusters is the gateway's configuration, so the memory of warnings is bounded by it).</para>
/// </remarks>
internal sealed class AppProtocolConfigFilter : IProxyConfigFilter
{
    internal const string H2c = "kubernetes.io/h2c";

    private readonly KubernetesDestinationResolverOptions _options;
    private readonly ILogger _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _reported = new(StringComparer.OrdinalIgnoreCase);

    public AppProtocolConfigFilter(IOptions<KubernetesDestinationResolverOptions> options, ILogger<KubernetesDestinationResolver> logger)
    {
        _options = options.Value;
        _logger = logger;
    }

    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (!_options.UseAppProtocol || cluster.Destinations is not { Count: > 0 } destinations)
        {
            return new(cluster);
        }

        SortedSet<string>? h2cServices = null;
        var others = 0;
        foreach (var destination in destinations.Values)
        {
            if (IsH2c(destination))
            {
                (h2cServices ??= new(StringComparer.Ordinal)).Add(destination.Metadata![KubernetesDestinationMetadata.Service]);
            }
            else
            {
                others++;
            }
        }

        if (h2cServices is null)
        {
            return new(cluster);
        }

        var services = string.Join(", ", h2cServices);
        if (others > 0)
        {
            ReportOnce(cluster.ClusterId, services, $"the cluster also has {others} destination(s) that are not.");
            return new(cluster);
        }

        var request = cluster.HttpRequest;
        if (request?.Version is not null || request?.VersionPolicy is not null)
        {
            if (!SpeaksH2c(request))
            {
                ReportOnce(cluster.ClusterId, services, $"the cluster's HttpRequest sets Version '{request.Version?.ToString() ?? "(default 2.0)"}' and VersionPolicy '{request.VersionPolicy?.ToString() ?? "(default RequestVersionOrLower)"}', which the configuration keeps.");
            }

            return new(cluster);
        }

        if (_reported.TryGetValue(cluster.ClusterId, out var last) && last == "h2c:" + services)
        {
            return new(cluster with { HttpRequest = WithH2c(request) });
        }

        _reported[cluster.ClusterId] = "h2c:" + services;
        Log.ClusterUsesH2c(_logger, cluster.ClusterId, services);
        return new(cluster with { HttpRequest = WithH2c(request) });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) => new(route);

    private static ForwarderRequestConfig WithH2c(ForwarderRequestConfig? request)
        => (request ?? ForwarderRequestConfig.Empty) with { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

    /// <summary>Whether a destination came from a Service port whose appProtocol is h2c and is reached over cleartext.</summary>
    private static bool IsH2c(DestinationConfig destination)
        => destination.Metadata is { } metadata
        && metadata.TryGetValue(KubernetesDestinationMetadata.AppProtocol, out var appProtocol)
        && string.Equals(appProtocol, H2c, StringComparison.OrdinalIgnoreCase)
        && metadata.ContainsKey(KubernetesDestinationMetadata.Service)
        && destination.Address.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether an explicit setting already sends HTTP/2 over cleartext (SocketsHttpHandler needs 2.0 and a policy that forbids a downgrade).</summary>
    private static bool SpeaksH2c(ForwarderRequestConfig request)
    {
        var version = request.Version ?? HttpVersion.Version20;
        var policy = request.VersionPolicy ?? HttpVersionPolicy.RequestVersionOrLower;
        return version.Major == 2 && policy is HttpVersionPolicy.RequestVersionExact or HttpVersionPolicy.RequestVersionOrHigher;
    }

    private void ReportOnce(string clusterId, string services, string reason)
    {
        var key = "warn:" + services + ":" + reason;
        if (_reported.TryGetValue(clusterId, out var last) && last == key)
        {
            return;
        }

        _reported[clusterId] = key;
        Log.H2cNotApplied(_logger, clusterId, services, reason);
    }
}
