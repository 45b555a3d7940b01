using Discovery.ServiceDiscovery;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ServiceDiscovery;

namespace Discovery.Integrations.Tests;

/// <summary>
/// A Service port's <c>appProtocol: kubernetes.io/h2c</c> through MESD: its endpoints carry the protocol as a feature and the log
/// says once what the clients must do, since MESD's handler cannot set a request's HTTP version.
/// </summary>
public class MesdAppProtocolTests
{
    private const string H2c = "kubernetes.io/h2c";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServiceProvider BuildApp(Cluster cluster)
    {
        var services = new ServiceCollection();
        cluster.AddCore(services);
        services.AddFakeLogging();
        services.AddServiceDiscovery(options => options.RefreshPeriod = TimeSpan.FromHours(1));
        services.AddKubernetesServiceEndpointProvider();
        services.AddHttpClient("h2c", client =>
        {
            client.BaseAddress = new Uri("http://alpaca-prod");
            client.DefaultRequestVersion = HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }).AddServiceDiscovery();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task An_h2c_Service_port_gives_endpoints_the_app_protocol_feature_and_one_log_line_and_an_HTTP2_client_reaches_the_h2c_only_pod()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("h2c-a", HttpProtocols.Http2);
        cluster.Emulator.Apply(EmulatorObjects.Service("default", "alpaca-prod", EmulatorObjects.ServicePort(80, "http", appProtocol: H2c)));
        cluster.ApplyPod("alpaca-prod", a);
        var plain = await cluster.StartPodAsync("plain-a");
        cluster.ApplyService("plain-prod", [plain]);
        await using var app = BuildApp(cluster);

        var source = await app.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync("http://alpaca-prod", Token);
        var feature = Assert.Single(source.Endpoints).Features.Get<IKubernetesAppProtocolFeature>();
        Assert.NotNull(feature);
        Assert.Equal(H2c, feature.AppProtocol);
        Assert.True(feature.RequiresHttp2PriorKnowledge);

        // The workaround the log line names works end to end through MESD's handler.
        Assert.Equal("h2c-a", await app.GetRequiredService<IHttpClientFactory>().CreateClient("h2c").GetStringAsync("/", Token));
        Assert.Equal("HTTP/2", a.LastProtocol);

        // Providers come and go (MESD recycles them): the notice is given once per Service port.
        var factory = app.GetServices<IServiceEndpointProviderFactory>().OfType<KubernetesServiceEndpointProviderFactory>().Single();
        Assert.True(ServiceEndpointQuery.TryParse("http://alpaca-prod", out var query));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(factory.TryCreateProvider(query, out var provider));
            await provider.PopulateAsync(new CollectingBuilder(), Token);
            await provider.DisposeAsync();
        }

        var notices = app.GetFakeLogCollector().GetSnapshot().Where(r => r.Message.Contains(H2c, StringComparison.Ordinal)).ToList();
        var notice = Assert.Single(notices);
        Assert.Equal(LogLevel.Information, notice.Level);
        Assert.Contains("default/alpaca-prod", notice.Message, StringComparison.Ordinal);
        Assert.Contains("DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact", notice.Message, StringComparison.Ordinal);

        // A port without appProtocol: no feature.
        var plainSource = await app.GetRequiredService<ServiceEndpointResolver>().GetEndpointsAsync("http://plain-prod", Token);
        Assert.Null(Assert.Single(plainSource.Endpoints).Features.Get<IKubernetesAppProtocolFeature>());
    }

    private sealed class CollectingBuilder : IServiceEndpointBuilder
    {
        public IList<Microsoft.Extensions.ServiceDiscovery.ServiceEndpoint> Endpoints { get; } = [];

        public Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public void AddChangeToken(Microsoft.Extensions.Primitives.IChangeToken changeToken)
        {
        }
    }
}
