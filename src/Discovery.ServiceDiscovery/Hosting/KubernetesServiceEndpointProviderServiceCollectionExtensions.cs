using Discovery.ServiceDiscovery;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Kubernetes endpoint provider for Microsoft.Extensions.ServiceDiscovery (Aspire's service discovery).</summary>
public static class KubernetesServiceEndpointProviderServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="IServiceEndpointProviderFactory"/> that resolves Service names (<c>http://alpaca-prod</c>,
    /// <c>https+http://alpaca-prod</c>, <c>http://_grpc.alpaca-prod</c>) to the Service's ready pods from the shared Kubernetes
    /// watch, and registers the discovery core if it is not registered yet.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures this provider's options.</param>
    /// <returns>The service collection.</returns>
    /// <remarks>
    /// MESD asks providers in registration order (its pass-through provider always last), and a provider that finds
    /// endpoints already supplied leaves them: call this after <c>AddServiceDiscovery()</c> to let configuration entries
    /// (<c>Services:alpaca-prod:http</c>) override Kubernetes, before it to let Kubernetes win. The core options are those of
    /// <c>AddKubernetesEndpointResolver()</c> (the <c>Discovery</c> section).
    /// </remarks>
    public static IServiceCollection AddKubernetesServiceEndpointProvider(this IServiceCollection services, Action<KubernetesServiceEndpointProviderOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddServiceDiscoveryCore();
        services.AddKubernetesEndpointResolver();
        var options = services.AddOptions<KubernetesServiceEndpointProviderOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceEndpointProviderFactory, KubernetesServiceEndpointProviderFactory>());
        return services;
    }
}
