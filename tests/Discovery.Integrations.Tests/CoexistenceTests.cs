using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

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

    /// <summary>An app host as a real app builds it: MESD, Discovery, and the clients given.</summary>
    private static IHost BuildHost(Cluster cluster, bool withKubernetesProvider, Action<IServiceCollection> clients)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        cluster.AddCore(builder.Services, hosted: true);
        builder.Services.AddKubernetesDiscovery();
        builder.Services.AddServiceDiscovery();
        if (withKubernetesProvider)
        {
            builder.Services.AddKubernetesServiceEndpointProvider();
        }

        clients(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task Without_the_Kubernetes_provider_the_host_fails_to_start_with_an_options_error_naming_each_client_with_MESD_and_both_fixes()
    {
        await using var cluster = await Cluster.StartAsync();
        using var host = BuildHost(cluster, withKubernetesProvider: false, services =>
        {
            services.AddHttpClient("mesd").AddServiceDiscovery();
            services.AddHttpClient("plain", c => c.BaseAddress = new Uri("http://alpaca-prod"));
            services.AddHttpClient<AlpacaClient>(c => c.BaseAddress = new Uri("http://alpaca-prod")).AddServiceDiscovery();
            services.AddHttpClient("opted-out").AddServiceDiscovery().RemoveKubernetesDiscovery();
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));
        Assert.Equal(typeof(Discovery.Http.DiscoveryHttpClientOptions), error.OptionsType);
        Assert.Equal(2, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("'mesd'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains($"'{nameof(AlpacaClient)}'", StringComparison.Ordinal));
        Assert.All(error.Failures, f =>
        {
            Assert.Contains("AddKubernetesServiceEndpointProvider()", f, StringComparison.Ordinal);
            Assert.Contains("remove AddServiceDiscovery()", f, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task MESD_on_every_client_through_ConfigureHttpClientDefaults_without_the_provider_fails_the_start_too()
    {
        await using var cluster = await Cluster.StartAsync();
        using var host = BuildHost(cluster, withKubernetesProvider: false, services => services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery()));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));
        Assert.Contains("AddKubernetesServiceEndpointProvider()", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_Kubernetes_provider_the_same_app_starts_and_each_client_is_resolved_by_one_of_them()
    {
        await using var cluster = await Cluster.StartAsync();
        var a = await cluster.StartPodAsync("alpaca-a");
        cluster.ApplyService("alpaca-prod", [a]);
        using var host = BuildHost(cluster, withKubernetesProvider: true, services =>
        {
            services.AddHttpClient("mesd").AddServiceDiscovery();
            services.AddHttpClient("plain");
        });

        await host.StartAsync(Token);
        var factory = host.Services.GetRequiredService<IHttpClientFactory>();
        Assert.Equal("alpaca-a", await factory.CreateClient("mesd").GetStringAsync("http://alpaca-prod/", Token));
        Assert.Equal("alpaca-a", await factory.CreateClient("plain").GetStringAsync("http://alpaca-prod/", Token));
        await host.StopAsync(Token);
    }

    public sealed class AlpacaClient(HttpClient http)
    {
        public HttpClient Http { get; } = http;
    }
}
