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
            if (options.ValidateCertificateAgainstServiceNames && ServiceCertificateValidator.Install(builder.PrimaryHandler, _registry.Parser) is { } problem)
            {
                Log.CertificateValidationNotInstalled(client.Logger, name, problem);
            }
        };
    }
}
