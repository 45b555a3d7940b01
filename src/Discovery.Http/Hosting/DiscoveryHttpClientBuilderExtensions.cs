using Discovery.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Per-client settings of Kubernetes service discovery.</summary>
public static class DiscoveryHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes this client resolve Kubernetes Service hosts (registering the discovery core if needed) and configures its options:
    /// load-balancing policy, retries, zone and passive health.
    /// </summary>
    /// <remarks>
    /// Inside <c>services.ConfigureHttpClientDefaults(b =&gt; b.AddKubernetesDiscovery(...))</c> it applies to every client, as
    /// <c>services.AddKubernetesDiscovery()</c> does, and <paramref name="configure"/> to every client's options before the
    /// client's own settings. The handler is innermost either way, inside any resilience handler the client adds.
    /// </remarks>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Configures this client's options, after configuration binding.</param>
    /// <returns>The client builder.</returns>
    public static IHttpClientBuilder AddKubernetesDiscovery(this IHttpClientBuilder builder, Action<DiscoveryHttpClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var registration = DiscoveryServiceCollectionExtensions.AddDiscoveryHttpCore(builder.Services, configure: null);
        if (builder.Name is null)
        {
            // ConfigureHttpClientDefaults(b => b.AddKubernetesDiscovery(...)): the builder of every client, which has no name.
            // Options configured for the null name apply to every client, before each client's own configuration.
            registration.AllClients = true;
            builder.Services.ConfigureAll<DiscoveryHttpClientOptions>(options =>
            {
                options.Enabled = true;
                configure?.Invoke(options);
            });
            builder.Services.AddOptions<DiscoveryHttpClientOptions>().ValidateOnStart();
            return builder;
        }

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
