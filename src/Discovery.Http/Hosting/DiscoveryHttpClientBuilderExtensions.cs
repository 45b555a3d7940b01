using Discovery.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Per-client settings of Kubernetes service discovery.</summary>
public static class DiscoveryHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes this client resolve Kubernetes Service hosts (registering the discovery core if needed) and configures its options:
    /// load-balancing policy, retries, zone and passive health.
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Configures this client's options, after configuration binding.</param>
    /// <returns>The client builder.</returns>
    public static IHttpClientBuilder AddKubernetesDiscovery(this IHttpClientBuilder builder, Action<DiscoveryHttpClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var registration = DiscoveryServiceCollectionExtensions.AddDiscoveryHttpCore(builder.Services, configure: null);
        registration.Clients.Add(builder.Name);
        builder.Services.Configure<DiscoveryHttpClientOptions>(builder.Name, options =>
        {
            options.Enabled = true;
            configure?.Invoke(options);
        });
        builder.Services.AddOptions<DiscoveryHttpClientOptions>(builder.Name).ValidateOnStart();
        return builder;
    }

    /// <summary>Opts this client out of service discovery: its requests are sent as written.</summary>
    /// <param name="builder">The client builder.</param>
    /// <returns>The client builder.</returns>
    public static IHttpClientBuilder RemoveKubernetesDiscovery(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<DiscoveryHttpClientOptions>(builder.Name, options => options.Enabled = false);
        return builder;
    }
}
