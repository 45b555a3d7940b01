using Discovery.Yarp;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Kubernetes destination resolver for YARP.</summary>
public static class KubernetesReverseProxyBuilderExtensions
{
    /// <summary>
    /// Makes YARP expand each cluster destination whose address names a Kubernetes Service (<c>http://alpaca-prod</c>) into
    /// one destination per ready pod, kept current from the Kubernetes watch, and registers the discovery core if needed.
    /// Replaces any other <see cref="IDestinationResolver"/> (YARP has one per application), and adds a config filter that gives a
    /// cluster of <c>kubernetes.io/h2c</c> pods HTTP/2 with prior knowledge (<see cref="KubernetesDestinationResolverOptions.UseAppProtocol"/>).
    /// </summary>
    /// <param name="builder">The reverse proxy builder.</param>
    /// <param name="configure">Configures the resolver's options.</param>
    /// <returns>The builder.</returns>
    public static IReverseProxyBuilder AddKubernetesDestinationResolver(this IReverseProxyBuilder builder, Action<KubernetesDestinationResolverOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddKubernetesEndpointResolver();
        var options = services.AddOptions<KubernetesDestinationResolverOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<KubernetesDestinationResolver>();
        services.Replace(ServiceDescriptor.Singleton<IDestinationResolver>(static sp => sp.GetRequiredService<KubernetesDestinationResolver>()));

        // Runs after destination resolution on every reload: a cluster of kubernetes.io/h2c pods gets HTTP/2 with prior knowledge.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProxyConfigFilter, AppProtocolConfigFilter>());
        return builder;
    }
}
