using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Discovery.Integrations.Tests;

/// <summary>A real YARP gateway in Kestrel on loopback, with one route to one cluster whose destinations the resolver expands.</summary>
public sealed class YarpProxy : IAsyncDisposable
{
    public const string ClusterId = "alpaca";

    private readonly WebApplication _app;

    private YarpProxy(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="cluster">The emulated cluster.</param>
    /// <param name="destinations">The cluster's destinations as configured.</param>
    /// <param name="configure">The resolver's options.</param>
    /// <param name="services">Registers services before the core (a <see cref="TimeProvider"/>, core options).</param>
    /// <param name="httpRequest">The cluster's <c>HttpRequest</c> settings, if any.</param>
    public static async Task<YarpProxy> StartAsync(
        Cluster cluster,
        IReadOnlyDictionary<string, DestinationConfig> destinations,
        Action<Discovery.Yarp.KubernetesDestinationResolverOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        ForwarderRequestConfig? httpRequest = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRouting();
        services?.Invoke(builder.Services);
        cluster.AddCore(builder.Services, hosted: true);
        builder.Services.AddReverseProxy()
            .LoadFromMemory(
                [new RouteConfig { RouteId = "all", ClusterId = ClusterId, Match = new RouteMatch { Path = "{**catch-all}" } }],
                [new ClusterConfig { ClusterId = ClusterId, LoadBalancingPolicy = "RoundRobin", Destinations = destinations, HttpRequest = httpRequest }])
            .AddKubernetesDestinationResolver(configure);
        var app = builder.Build();
        app.UseRouting();
        app.MapReverseProxy();
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new YarpProxy(app, new Uri(bound));
    }

    /// <summary>YARP's live destinations of the cluster, by ID.</summary>
    public IReadOnlyDictionary<string, DestinationState> Destinations()
    {
        var lookup = _app.Services.GetRequiredService<IProxyStateLookup>();
        return lookup.TryGetCluster(ClusterId, out var cluster)
            ? cluster.Destinations.ToDictionary(d => d.Key, d => d.Value)
            : new Dictionary<string, DestinationState>();
    }

    /// <summary>The IDs of the destinations YARP's load balancer picks from now (updated after <see cref="Destinations"/>).</summary>
    public IReadOnlyList<string> AvailableIds()
    {
        var lookup = _app.Services.GetRequiredService<IProxyStateLookup>();
        return lookup.TryGetCluster(ClusterId, out var cluster)
            ? [.. cluster.DestinationsState.AvailableDestinations.Select(d => d.DestinationId).Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>The cluster's configuration as YARP applied it (after the resolver and config filters).</summary>
    public ClusterConfig? ClusterConfig()
        => _app.Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(ClusterId, out var cluster) ? cluster.Model.Config : null;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}
