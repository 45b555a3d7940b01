using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Discovery.Http;

/// <summary>
/// Adds the discovery handler to every <c>IHttpClientFactory</c> client after all of the client's own configuration ran.
/// </summary>
/// <remarks>
/// A filter rather than <c>ConfigureHttpClientDefaults</c>: defaults run before a client's own configuration, which would put
/// the handler outside a resilience handler added later (so outer retries would bypass it) and let a later
/// <c>ConfigurePrimaryHttpMessageHandler</c> replace the primary handler whose certificate validation it extends.
/// </remarks>
internal sealed class DiscoveryHttpMessageHandlerBuilderFilter : IHttpMessageHandlerBuilderFilter
{
    /// <summary>The <c>SocketsHttpHandler</c> property grpc-dotnet reads to leave balancing to the HTTP pipeline.</summary>
    internal const string GrpcLoadBalancingDisabledProperty = "__GrpcLoadBalancingDisabled";

    /// <summary>Set beside <see cref="GrpcLoadBalancingDisabledProperty"/> when this filter set it (read by Discovery.Grpc by name).</summary>
    internal const string GrpcLoadBalancingDisabledByDiscoveryProperty = "Discovery.GrpcLoadBalancingDisabled";

    private readonly DiscoveryClientRegistry _registry;
    private readonly DiscoveryHttpRegistration _registration;

    public DiscoveryHttpMessageHandlerBuilderFilter(DiscoveryClientRegistry registry, DiscoveryHttpRegistration registration)
    {
        _registry = registry;
        _registration = registration;
    }

    public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next)
    {
        return builder =>
        {
            next(builder);
            var name = builder.Name ?? Options.DefaultName;
            if (!_registration.AppliesTo(name))
            {
                return;
            }

            var options = _registry.GetOptions(name);
            if (!options.Enabled)
            {
                return;
            }

            if (MesdCoexistence.UsesMesd(builder))
            {
                // Each host is resolved once: a client with MESD's handler is MESD's (see MesdCoexistence).
                MesdCoexistence.EnsureKubernetesProvider(builder, name);
                return;
            }

            var client = _registry.Get(name);

            // Innermost, after the client's own handlers: they see the request as written, and each of their retries picks afresh.
            builder.AdditionalHandlers.Add(new DiscoveryHttpHandler(client));
            if (builder.PrimaryHandler is SocketsHttpHandler sockets)
            {
                // grpc-dotnet's own balancer would connect to the address the channel was created with (http://_grpc.alpaca-prod),
                // not to the pod this handler picked per call. The property, which grpc-dotnet reads when a channel is created
                // (MESD's AddServiceDiscovery() sets it the same way), makes such a channel send each call through this pipeline.
                // The marker tells Discovery.Grpc that this handler, not the app, switched it off: a kubernetes: channel, which
                // needs grpc-dotnet's balancer, may switch it back on.
                sockets.Properties[GrpcLoadBalancingDisabledProperty] = true;
                sockets.Properties[GrpcLoadBalancingDisabledByDiscoveryProperty] = true;
            }

            if (options.ValidateCertificateAgainstServiceNames && ServiceCertificateValidator.Install(builder.PrimaryHandler, _registry.Parser) is { } problem)
            {
                Log.CertificateValidationNotInstalled(client.Logger, name, problem);
            }
        };
    }
}
