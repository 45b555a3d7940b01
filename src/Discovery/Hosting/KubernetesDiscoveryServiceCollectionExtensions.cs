using Discovery;
using Discovery.Internal;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Diagnostics.Metrics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Kubernetes endpoint resolver of the discovery core.</summary>
public static class KubernetesDiscoveryServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IServiceEndpointResolver"/> (a <see cref="KubernetesServiceEndpointResolver"/> singleton), the
    /// <see cref="ServiceHostParser"/> configured from the options, a <see cref="TimeProvider"/> if none is registered, and the
    /// pre-warm hosted service. Options bind from the configuration section <c>Discovery</c> when an <see cref="IConfiguration"/>
    /// is registered, then <paramref name="configure"/> runs; they are validated at startup.
    /// </summary>
    /// <remarks>
    /// The Kubernetes client is the registered <see cref="IKubernetes"/> if there is one (tests plug an emulator in this way);
    /// else the kubeconfig from the options; else the in-cluster configuration; else the default kubeconfig.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options after configuration binding.</param>
    public static IServiceCollection AddKubernetesEndpointResolver(this IServiceCollection services, Action<KubernetesDiscoveryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<KubernetesDiscoveryOptions>();
        if (!services.Any(d => d.ServiceType == typeof(KubernetesServiceEndpointResolver)))
        {
            builder.Configure<IServiceProvider>(static (options, provider) =>
            {
                if (provider.GetService<IConfiguration>() is { } configuration)
                {
                    configuration.GetSection(KubernetesDiscoveryOptions.SectionName).Bind(options);
                }
            });
        }

        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesDiscoveryOptions>, KubernetesDiscoveryOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(CreateResolver);
        services.TryAddSingleton<IServiceEndpointResolver>(static provider => provider.GetRequiredService<KubernetesServiceEndpointResolver>());
        services.TryAddSingleton(static provider => ServiceHostParser.FromOptions(provider.GetRequiredService<IOptions<KubernetesDiscoveryOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DiscoveryPrewarmService>());
        return services;
    }

    private static KubernetesServiceEndpointResolver CreateResolver(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<KubernetesDiscoveryOptions>>().Value;
        var timeProvider = provider.GetService<TimeProvider>();
        var loggerFactory = provider.GetService<ILoggerFactory>();
        var meterFactory = provider.GetService<IMeterFactory>();
        var isInCluster = KubernetesClientConfiguration.IsInCluster();
        if (provider.GetService<IKubernetes>() is { } client)
        {
            return new KubernetesServiceEndpointResolver(() => new KubernetesClientResourceApi(client), options, timeProvider, loggerFactory, meterFactory, isInCluster, ownedClient: null);
        }

        // Built lazily, on the first lookup: an app without a cluster can start, and reports the failure per Service.
        var factory = new KubernetesClientFactory(options);
        return new KubernetesServiceEndpointResolver(() => new KubernetesClientResourceApi(factory.GetOrCreate()), options, timeProvider, loggerFactory, meterFactory, isInCluster, ownedClient: factory);
    }
}
