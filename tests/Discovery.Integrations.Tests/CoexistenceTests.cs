using Microsoft.Extensions.Http;

namespace Discovery.Integrations.Tests;

/// <summary>
/// MESD's <c>AddServiceDiscovery()</c> and Discovery's <c>AddKubernetesDiscovery()</c> in one app: each client's hosts are
/// resolved by exactly one of them, or building the client fails with a message naming both fixes.
/// </summary>
public class CoexistenceTests
{
    private const string MesdHandler = "Microsoft.Extensions.ServiceDiscovery.Http.ResolvingHttpDelegatingHandler";
    private const string DiscoveryHandler = "Discovery.Http.DiscoveryHttpHandler";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static List<string> HandlerChain(IServiceProvider app, string client)
    {
        var names = new List<string>();
        for (var handler = app.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(client); handler is not null; handler = (handler as DelegatingHandler)?.InnerHandler)
        {
            names.Add(handler.GetType().FullName!);
        }

        return names;
    }

    private static ServiceProvider BuildApp(Cluster cluster, bool withKubernetesProvider)
    {
        var services = new ServiceCollection();
        cluster.AddCore(services);
        services.AddKubernetesDiscovery();
        services.AddServiceDiscovery();
        if (withKubernetesProvider)
        {
            services.AddKubernetesServiceEndpointProvider();
        }

        services.AddHttpClient("mesd").AddServiceDiscovery();
        services.AddHttpClient("plain");
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_client_with_MESD_handler_is_resolved_by_MESD_alone_and_other_clients_by_Discovery_alone()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        await using var app = BuildApp(cluster, withKubernetesProvider: true);

        var mesdChain = HandlerChain(app, "mesd");
        Assert.Contains(MesdHandler, mesdChain);
        Assert.DoesNotContain(DiscoveryHandler, mesdChain);

        var plainChain = HandlerChain(app, "plain");
        Assert.Contains(DiscoveryHandler, plainChain);
        Assert.DoesNotContain(MesdHandler, plainChain);

        var factory = app.GetRequiredService<IHttpClientFactory>();
        Assert.Equal("alpaca-a", await factory.CreateClient("mesd").GetStringAsync("http://alpaca-prod/", Token));
        Assert.Equal("alpaca-a", await factory.CreateClient("plain").GetStringAsync("http://alpaca-prod/", Token));
        Assert.Equal(2, a.Requests);
    }

    [Fact]
    public async Task MESD_on_every_client_as_Aspire_service_defaults_do_composes_the_same_way()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        var services = new ServiceCollection();
        cluster.AddCore(services);
        services.AddServiceDiscovery();
        services.AddKubernetesServiceEndpointProvider();
        services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery());
        services.AddKubernetesDiscovery();
        services.AddHttpClient<AlpacaClient>(c => c.BaseAddress = new Uri("http://alpaca-prod"));
        await using var app = services.BuildServiceProvider();

        var chain = HandlerChain(app, nameof(AlpacaClient));
        Assert.Single(chain, MesdHandler);
        Assert.DoesNotContain(DiscoveryHandler, chain);
        Assert.Equal("alpaca-a", await app.GetRequiredService<AlpacaClient>().Http.GetStringAsync("/", Token));
    }

    [Fact]
    public async Task Without_the_Kubernetes_provider_a_client_with_both_fails_to_build_with_a_message_naming_both_fixes()
    {
        await using var cluster = await Cluster.StartAsync();
        await using var app = BuildApp(cluster, withKubernetesProvider: false);

        var error = Assert.Throws<InvalidOperationException>(() => app.GetRequiredService<IHttpClientFactory>().CreateClient("mesd"));
        Assert.Contains("'mesd'", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddKubernetesServiceEndpointProvider()", error.Message, StringComparison.Ordinal);
        Assert.Contains("remove AddServiceDiscovery()", error.Message, StringComparison.Ordinal);

        // A client without MESD's handler is unaffected.
        Assert.Contains(DiscoveryHandler, HandlerChain(app, "plain"));
    }

    public sealed class AlpacaClient(HttpClient http)
    {
        public HttpClient Http { get; } = http;
    }
}
