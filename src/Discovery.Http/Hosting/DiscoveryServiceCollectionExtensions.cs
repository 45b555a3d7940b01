using Discovery;
using Discovery.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Kubernetes service discovery for <c>IHttpClientFactory</c> clients.</summary>
public static class DiscoveryServiceCollectionExtensions
{
    /// <summary>
    /// Registers the discovery core and makes every <c>IHttpClientFactory</c> client (named, typed or default) send requests
    /// whose host names a Kubernetes Service to a ready endpoint of it. Other hosts pass through untouched.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the core options (also bound from the <c>Discovery</c> configuration section).</param>
    /// <returns>The service collection.</returns>
    /// <remarks>
    /// Per-client settings: <c>AddHttpClient(...).AddKubernetesDiscovery(o =&gt; ...)</c>, or the configuration sections
    /// <c>Discovery:Http</c> and <c>Discovery:Http:Clients:&lt;name&gt;</c>. Opt a client out with
    /// <c>RemoveKubernetesDiscovery()</c>.
    /// </remarks>
    public static IServiceCollection AddKubernetesDiscovery(this IServiceCollection services, Action<KubernetesDiscoveryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registration = AddDiscoveryHttpCore(services, configure);
        registration.AllClients = true;
        services.AddOptions<DiscoveryHttpClientOptions>().ValidateOnStart();
        return services;
    }

    /// <summary>Registers what every form of discovery registration needs, once; returns the registration record.</summary>
    internal static DiscoveryHttpRegistration AddDiscoveryHttpCore(IServiceCollection services, Action<KubernetesDiscoveryOptions>? configure)
    {
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(DiscoveryHttpRegistration))?.ImplementationInstance;
        if (existing is DiscoveryHttpRegistration registered)
        {
            if (configure is not null)
            {
                services.Configure(configure);
            }

            return registered;
        }

        var registration = new DiscoveryHttpRegistration();
        services.AddSingleton(registration);
        services.AddKubernetesEndpointResolver(configure);
        services.AddHttpClient();
        services.AddMetrics();
        services.TryAddSingleton<DiscoveryHttpMetrics>(sp => new DiscoveryHttpMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<DiscoveryClientRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, DiscoveryHttpMessageHandlerBuilderFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingPolicy, PowerOfTwoChoicesPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingPolicy, RoundRobinPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingPolicy, RandomPolicy>());
        services.AddOptions();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<DiscoveryHttpClientOptions>, DiscoveryHttpClientOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<DiscoveryHttpClientOptions>, DiscoveryHttpClientOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DiscoveryHttpClientOptions>, DiscoveryHttpClientOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, MesdCoexistenceStartupCheck>());
        return registration;
    }
}
