using Discovery.Testing;
using Discovery.Tests.Infrastructure;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Discovery.Tests;

public class DependencyInjectionTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void Options_bind_from_the_discovery_section_then_the_delegate_applies()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Discovery:Namespace"] = "demo",
            ["Discovery:ClusterDomain"] = "corp.example",
            ["Discovery:IdleTimeout"] = "00:02:00",
            ["Discovery:AllowedNamespaces:0"] = "demo",
            ["Discovery:PrewarmServices:0"] = "alpaca-prod",
            ["Discovery:PodSelectors:workers"] = "app=worker",
            ["Discovery:AddressMode"] = "NodePort",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);

        services.AddKubernetesEndpointResolver(o => o.DefaultPortName = "http");
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<KubernetesDiscoveryOptions>>().Value;

        Assert.Equal("demo", options.Namespace);
        Assert.Equal(TimeSpan.FromMinutes(2), options.IdleTimeout);
        Assert.Equal(["demo"], options.AllowedNamespaces);
        Assert.Equal(["alpaca-prod"], options.PrewarmServices);
        Assert.Equal("app=worker", options.PodSelectors["workers"]);
        Assert.Equal(AddressMode.NodePort, options.AddressMode);
        Assert.Equal("http", options.DefaultPortName);
        var parser = provider.GetRequiredService<ServiceHostParser>();
        Assert.Equal("demo", parser.DefaultNamespace);
        Assert.Equal("corp.example", parser.ClusterDomain);
        Assert.Same(provider.GetRequiredService<KubernetesServiceEndpointResolver>(), provider.GetRequiredService<IServiceEndpointResolver>());
        Assert.Equal("demo", provider.GetRequiredService<KubernetesServiceEndpointResolver>().DefaultNamespace);
        Assert.Same(TimeProvider.System, provider.GetRequiredService<TimeProvider>());
    }

    [Theory]
    [InlineData("ReconnectMaxDelay", "00:00:00.010", "ReconnectMaxDelay")]
    [InlineData("Namespace", "Not_A_Namespace", "Namespace")]
    [InlineData("ClusterDomain", "bad..domain", "ClusterDomain")]
    [InlineData("PrewarmServices:0", "Bad_Name", "PrewarmServices")]
    [InlineData("AllowedNamespaces:0", "-x", "AllowedNamespaces")]
    [InlineData("Source", "Dns", "Source")]
    [InlineData("IdleTimeout", "00:00:00", "IdleTimeout")]
    [InlineData("PodSelectors:workers", "", "PodSelectors")]
    [InlineData("MaxWatchers", "0", "MaxWatchers")]
    [InlineData("NamespaceWatchThreshold", "0", "NamespaceWatchThreshold")]
    [InlineData("WatchScope", "7", "WatchScope")]
    [InlineData("RequestTimeout", "00:00:00", "RequestTimeout")]
    [InlineData("IdleTimeout", "8.00:00:00", "Discovery:IdleTimeout")]
    [InlineData("WatchTimeout", "02:00:00", "Discovery:WatchTimeout")]
    [InlineData("StaleAfter", "00:00:00.5", "Discovery:StaleAfter")]
    public async Task Invalid_options_fail_at_startup(string key, string value, string expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Discovery:" + key] = value });
        builder.Services.AddKubernetesEndpointResolver();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_carry_no_range_attribute_that_converts_its_limits_lazily()
    {
        // RangeAttribute(typeof(TimeSpan), "min", "max") converts its string limits on first use without a lock; two hosts
        // validating at once then fail with InvalidCastException (a CI run did). Int and double limits need no conversion.
        var lazilyConverted = typeof(KubernetesDiscoveryOptions).GetProperties()
            .SelectMany(p => p.GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.RangeAttribute), inherit: true)
                .Cast<System.ComponentModel.DataAnnotations.RangeAttribute>()
                .Where(r => r.Minimum is string || r.Maximum is string)
                .Select(_ => p.Name))
            .ToList();

        Assert.Empty(lazilyConverted);
    }

    [Fact]
    public async Task Source_Pods_is_refused_at_startup_pointing_to_pod_selectors()
    {
        // It never switched anything (pod selectors work under any source): refused, even with selectors configured.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Discovery:Source"] = "Pods",
            ["Discovery:PodSelectors:workers"] = "app=workers",
        });
        builder.Services.AddKubernetesEndpointResolver();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains("Discovery:Source cannot be Pods", error.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery:PodSelectors", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registered_client_is_used_and_prewarm_runs_at_start()
    {
        await using var emulator = await KubernetesApiEmulator.StartAsync(cancellationToken: Token);
        EmulatorFixtures.ApplyAll(emulator);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<IKubernetes>(emulator.CreateClient());
        builder.Services.AddKubernetesEndpointResolver(o =>
        {
            o.Namespace = "demo";
            o.PrewarmServices.Add("alpaca-prod");
            o.PrewarmServices.Add("bandicoot-prod.demo");
        });
        builder.Services.AddHealthChecks().AddKubernetesDiscoveryCheck();
        using var host = builder.Build();

        await host.StartAsync(Token);
        var resolver = host.Services.GetRequiredService<IServiceEndpointResolver>();
        await Eventually.True(() => resolver.TryGetSnapshot(new ServiceKey("demo", "alpaca-prod"), out _) && resolver.TryGetSnapshot(new ServiceKey("demo", "bandicoot-prod"), out _), "pre-warmed Services sync");
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token);
        await host.StopAsync(Token);

        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.Contains(emulator.Requests, r => r.Path.Contains("endpointslices", StringComparison.Ordinal));
    }

    [Fact]
    public void Registering_twice_keeps_one_resolver()
    {
        var services = new ServiceCollection();
        services.AddKubernetesEndpointResolver();
        services.AddKubernetesEndpointResolver(o => o.Namespace = "demo");

        Assert.Single(services, d => d.ServiceType == typeof(KubernetesServiceEndpointResolver));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
    }
}
