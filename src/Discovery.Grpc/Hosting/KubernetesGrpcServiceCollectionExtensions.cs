using Discovery;
using Discovery.Grpc;
using Grpc.Net.Client.Balancer;
using Grpc.Net.ClientFactory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the <c>kubernetes:</c> resolver for grpc-dotnet channels.</summary>
public static class KubernetesGrpcServiceCollectionExtensions
{
    /// <summary>
    /// Registers the discovery core (if needed) and a grpc-dotnet <see cref="ResolverFactory"/> for the scheme <c>kubernetes</c>,
    /// so that <c>AddGrpcClient</c> clients, and channels created with <c>GrpcChannelOptions.ServiceProvider</c> set to this
    /// provider, resolve <c>kubernetes:///alpaca-prod.demo:grpc</c> to the Service's ready pods.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the resolver options (also bound from the configuration section <c>Discovery:Grpc</c>).</param>
    /// <returns>The service collection.</returns>
    /// <remarks>
    /// grpc-dotnet balances only when it owns the connections: the channel's handler must be a <c>SocketsHttpHandler</c> without
    /// a <c>ConnectCallback</c> and without the <c>__GrpcLoadBalancingDisabled</c> property that
    /// Microsoft.Extensions.ServiceDiscovery's <c>AddServiceDiscovery()</c> sets on the clients it applies to (grpc-dotnet then
    /// refuses to create a <c>kubernetes:</c> channel). Discovery.Http's handler sets it too; for <c>AddGrpcClient</c> clients on a
    /// <c>kubernetes:</c> address this registration switches it back on. Choose a load-balancing policy on the channel:
    /// <c>ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } }</c>; gRPC's default is
    /// <c>pick_first</c>, one pod at a time.
    /// </remarks>
    public static IServiceCollection AddKubernetesGrpcResolver(this IServiceCollection services, Action<KubernetesGrpcResolverOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddKubernetesEndpointResolver();
        var options = services.AddOptions<KubernetesGrpcResolverOptions>();
        if (!services.Any(d => d.ServiceType == typeof(KubernetesResolverFactory)))
        {
            options.Configure<IServiceProvider>(static (o, provider) =>
            {
                if (provider.GetService<IConfiguration>() is { } configuration)
                {
                    configuration.GetSection(KubernetesGrpcResolverOptions.SectionName).Bind(o);
                }

                o.DefaultPortName ??= provider.GetRequiredService<IOptions<KubernetesDiscoveryOptions>>().Value.DefaultPortName;
            });
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Bounds are checked in code, not with [Range(typeof(TimeSpan), ...)], whose lazy string conversion is not thread-safe.
        options
            .Validate(
                static o => o.RetryDelay > TimeSpan.Zero && o.RetryDelay <= TimeSpan.FromDays(1),
                "Discovery:Grpc:RetryDelay must be positive and at most 1 day.")
            .Validate(
                static o => o.MaxRetryDelay >= o.RetryDelay && o.MaxRetryDelay <= TimeSpan.FromDays(1),
                "Discovery:Grpc:MaxRetryDelay must be at least Discovery:Grpc:RetryDelay and at most 1 day.")
            .ValidateOnStart();
        services.TryAddSingleton(static provider => new KubernetesResolverFactory(
            provider.GetRequiredService<IServiceEndpointResolver>(),
            provider.GetRequiredService<ServiceHostParser>(),
            provider.GetRequiredService<IOptions<KubernetesGrpcResolverOptions>>().Value,
            provider.GetService<TimeProvider>(),
            provider.GetService<ILoggerFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory, KubernetesResolverFactory>(static provider => provider.GetRequiredService<KubernetesResolverFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<GrpcClientFactoryOptions>, KubernetesGrpcClientFactoryOptionsSetup>());
        return services;
    }
}
