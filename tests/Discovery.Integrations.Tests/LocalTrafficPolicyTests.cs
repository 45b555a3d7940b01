using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;

namespace Discovery.Integrations.Tests;

/// <summary>
/// <c>internalTrafficPolicy: Local</c> is applied by the HttpClient handler only: MESD and YARP hand out every usable endpoint,
/// and each names the Service once in a warning, so a node-local Service routed through them is not misrouted silently.
/// </summary>
public class LocalTrafficPolicyTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static void ApplyLocalService(Cluster cluster, string name, params Pod[] pods)
    {
        var service = EmulatorObjects.Service("default", name, EmulatorObjects.ServicePort(80, "http"));
        service.Spec.InternalTrafficPolicy = "Local";
        cluster.Emulator.Apply(service);
        foreach (var pod in pods)
        {
            cluster.ApplyPod(name, pod);
        }
    }

    private static List<FakeLogRecord> LocalPolicyWarnings(FakeLogCollector logs)
        => [.. logs.GetSnapshot().Where(r => r.Message.Contains("internalTrafficPolicy: Local", StringComparison.Ordinal))];

    [Fact]
    public async Task MESD_resolves_a_node_local_Service_to_all_usable_endpoints_and_says_so_once()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        ApplyLocalService(cluster, "alpaca-prod", a, b);
        var services = new ServiceCollection();
        cluster.AddCore(services);
        services.AddFakeLogging();
        services.AddServiceDiscovery(options => options.RefreshPeriod = TimeSpan.FromHours(1));
        services.AddKubernetesServiceEndpointProvider();
        await using var app = services.BuildServiceProvider();
        var resolver = app.GetRequiredService<ServiceEndpointResolver>();

        Assert.Equal(2, (await resolver.GetEndpointsAsync("http://alpaca-prod", Token)).Endpoints.Count);
        Assert.Equal(2, (await resolver.GetEndpointsAsync("http://alpaca-prod.default.svc", Token)).Endpoints.Count);

        var warning = Assert.Single(LocalPolicyWarnings(app.GetFakeLogCollector()));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("default/alpaca-prod", warning.Message, StringComparison.Ordinal);
        Assert.Contains("AddKubernetesDiscovery()", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task YARP_expands_a_node_local_Service_to_all_usable_endpoints_and_says_so_once_across_reloads()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        var b = await cluster.StartPodAsync("alpaca-b");
        ApplyLocalService(cluster, "alpaca-prod", a, b);
        await using var proxy = await YarpProxy.StartAsync(
            cluster,
            new Dictionary<string, DestinationConfig> { ["alpaca"] = new() { Address = "http://alpaca-prod" } },
            o => o.MinimumReloadInterval = TimeSpan.Zero,
            services => services.AddFakeLogging());
        Assert.Equal(2, proxy.Destinations().Count);

        // A change reloads YARP, which resolves the Service again.
        cluster.SetReady("alpaca-prod", b, ready: false);
        await Eventually.True(() => proxy.AvailableIds().Count == 1, "YARP reloads after pod b leaves");

        var warning = Assert.Single(LocalPolicyWarnings(proxy.Services.GetFakeLogCollector()));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("default/alpaca-prod", warning.Message, StringComparison.Ordinal);
    }
}
