using System.Net.Http;
using Discovery.Yarp;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Discovery.Integrations.Tests;

/// <summary>
/// A Service port's <c>appProtocol: kubernetes.io/h2c</c> through YARP: the cluster of such pods is sent HTTP/2 with prior
/// knowledge, which an h2c-only Kestrel pod requires; where YARP's per-cluster model cannot say it, a warning names the cluster.
/// </summary>
public class YarpAppProtocolTests
{
    private const string H2c = "kubernetes.io/h2c";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Dictionary<string, DestinationConfig> Destination(string address) => new() { ["alpaca"] = new DestinationConfig { Address = address } };

    private static void ApplyH2cService(Cluster cluster, string name, params Pod[] pods)
    {
        cluster.Emulator.Apply(EmulatorObjects.Service("default", name, EmulatorObjects.ServicePort(80, "http", appProtocol: H2c)));
        foreach (var pod in pods)
        {
            cluster.ApplyPod(name, pod);
        }
    }

    [Fact]
    public async Task An_h2c_Service_port_makes_YARP_send_HTTP2_with_prior_knowledge_so_an_h2c_only_pod_answers()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("h2c-a", HttpProtocols.Http2);
        var b = await cluster.StartPodAsync("h2c-b", HttpProtocols.Http2);
        ApplyH2cService(cluster, "alpaca-prod", a, b);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"));

        var answers = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await proxy.Client.GetAsync("/", Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add(await response.Content.ReadAsStringAsync(Token));
        }

        Assert.Equal(["h2c-a", "h2c-b"], answers.Order());
        Assert.Equal("HTTP/2", a.LastProtocol);
        Assert.Equal("HTTP/2", b.LastProtocol);
        var request = proxy.ClusterConfig()!.HttpRequest!;
        Assert.Equal(HttpVersion.Version20, request.Version);
        Assert.Equal(HttpVersionPolicy.RequestVersionExact, request.VersionPolicy);
        Assert.Equal(H2c, proxy.Destinations().Values.First().Model.Config.Metadata![KubernetesDestinationMetadata.AppProtocol]);
    }

    [Fact]
    public async Task A_port_without_appProtocol_keeps_YARP_default_HTTP11_over_cleartext()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"));

        Assert.Equal("alpaca-a", await proxy.Client.GetStringAsync("/", Token));
        Assert.Equal("HTTP/1.1", a.LastProtocol);
        Assert.Null(proxy.ClusterConfig()!.HttpRequest);
        Assert.False(proxy.Destinations().Values.Single().Model.Config.Metadata!.ContainsKey(KubernetesDestinationMetadata.AppProtocol));
    }

    [Fact]
    public async Task With_UseAppProtocol_off_the_cluster_keeps_YARP_default_and_an_h2c_only_pod_is_not_reached()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("h2c-a", HttpProtocols.Http2);
        ApplyH2cService(cluster, "alpaca-prod", a);
        await using var proxy = await YarpProxy.StartAsync(cluster, Destination("http://alpaca-prod"), o => o.UseAppProtocol = false);

        // Kestrel answers an HTTP/1.1 request on an HTTP/2-only endpoint with 400 itself; the pod's app never sees it.
        using var response = await proxy.Client.GetAsync("/", Token);
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, a.Requests);
        Assert.Null(proxy.ClusterConfig()!.HttpRequest);
    }

    [Fact]
    public async Task A_cluster_mixing_h2c_pods_with_other_destinations_or_setting_its_own_version_is_kept_and_named_in_one_warning()
    {
        var logger = new FakeLogger<KubernetesDestinationResolver>();
        var filter = new AppProtocolConfigFilter(Options.Create(new KubernetesDestinationResolverOptions()), logger);
        var h2cPod = new DestinationConfig
        {
            Address = "http://127.0.0.1:8080",
            Metadata = new Dictionary<string, string> { [KubernetesDestinationMetadata.Service] = "default/alpaca-prod", [KubernetesDestinationMetadata.AppProtocol] = H2c },
        };
        var mixed = new ClusterConfig
        {
            ClusterId = "mixed",
            Destinations = new Dictionary<string, DestinationConfig> { ["alpaca/127.0.0.1:8080"] = h2cPod, ["static"] = new() { Address = "http://127.0.0.2:80" } },
        };

        for (var i = 0; i < 3; i++)
        {
            Assert.Same(mixed, await filter.ConfigureClusterAsync(mixed, Token));
        }

        var warning = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("'mixed'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("default/alpaca-prod", warning.Message, StringComparison.Ordinal);

        // An explicit version that is HTTP/1.1 on cleartext is the configuration's choice: kept, and named once.
        var explicitHttp11 = new ClusterConfig
        {
            ClusterId = "explicit",
            HttpRequest = new ForwarderRequestConfig { Version = HttpVersion.Version11 },
            Destinations = new Dictionary<string, DestinationConfig> { ["alpaca/127.0.0.1:8080"] = h2cPod },
        };
        Assert.Same(explicitHttp11, await filter.ConfigureClusterAsync(explicitHttp11, Token));
        Assert.Same(explicitHttp11, await filter.ConfigureClusterAsync(explicitHttp11, Token));
        Assert.Equal(2, logger.Collector.Count);
        Assert.Contains("'explicit'", logger.Collector.LatestRecord.Message, StringComparison.Ordinal);

        // An explicit HTTP/2-exact setting already speaks h2c: nothing to say.
        var explicitH2c = explicitHttp11 with { ClusterId = "explicit-h2c", HttpRequest = new ForwarderRequestConfig { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact } };
        Assert.Same(explicitH2c, await filter.ConfigureClusterAsync(explicitH2c, Token));
        Assert.Equal(2, logger.Collector.Count);

        // Only h2c pods over https:// are not h2c (TLS negotiates the version): left alone.
        var tls = explicitHttp11 with { ClusterId = "tls", HttpRequest = null, Destinations = new Dictionary<string, DestinationConfig> { ["a"] = h2cPod with { Address = "https://127.0.0.1:8443" } } };
        Assert.Same(tls, await filter.ConfigureClusterAsync(tls, Token));
    }
}
