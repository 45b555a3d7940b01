using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;

namespace Discovery.ServiceDiscovery;

/// <summary>
/// The MESD <see cref="IServiceEndpointProviderFactory"/> for Kubernetes Services: takes every query whose host is a Service
/// name form (<c>alpaca-prod</c>, <c>alpaca-prod.demo</c>, <c>alpaca-prod.demo.svc[.cluster.local]</c>) and declines the
/// rest (IP literals, <c>localhost</c>, external names), which the next providers then handle.
/// </summary>
internal sealed class KubernetesServiceEndpointProviderFactory : IServiceEndpointProviderFactory
{
    private readonly IServiceEndpointResolver _resolver;
    private readonly ServiceHostParser _parser;
    private readonly KubernetesServiceEndpointProviderOptions _options;
    private readonly ServiceDiscoveryOptions _serviceDiscoveryOptions;
    private readonly string? _defaultPortName;
    private readonly ILogger _logger;
    private readonly ServiceNotices _notices;

    // Where this app runs, for the Service's traffic policy and topology; unknown with a resolver other than the core's.
    private readonly LocalNode? _localNode;

    /// <summary>Creates the factory (normally through <c>AddKubernetesServiceEndpointProvider()</c>).</summary>
    /// <param name="resolver">The shared endpoint resolver; its watchers serve every provider.</param>
    /// <param name="parser">Reads host names as Services (default namespace, cluster domain).</param>
    /// <param name="discoveryOptions">The core options (for the default port name).</param>
    /// <param name="options">This provider's options.</param>
    /// <param name="serviceDiscoveryOptions">MESD's options (allowed schemes).</param>
    /// <param name="logger">The logger.</param>
    public KubernetesServiceEndpointProviderFactory(
        IServiceEndpointResolver resolver,
        ServiceHostParser parser,
        IOptions<KubernetesDiscoveryOptions> discoveryOptions,
        IOptions<KubernetesServiceEndpointProviderOptions> options,
        IOptions<ServiceDiscoveryOptions> serviceDiscoveryOptions,
        ILogger<KubernetesServiceEndpointProviderFactory> logger)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(discoveryOptions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(serviceDiscoveryOptions);
        ArgumentNullException.ThrowIfNull(logger);
        _resolver = resolver;
        _localNode = (resolver as KubernetesServiceEndpointResolver)?.LocalNode;
        _parser = parser;
        _options = options.Value;
        _serviceDiscoveryOptions = serviceDiscoveryOptions.Value;
        _defaultPortName = discoveryOptions.Value.DefaultPortName;
        _logger = logger;
        _notices = new ServiceNotices(logger);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Cheap and side-effect free: parses the name and returns a provider holding references. No watch starts until the
    /// provider is asked for endpoints, and disposing a provider never stops one.
    /// </remarks>
    public bool TryCreateProvider(ServiceEndpointQuery query, [NotNullWhen(true)] out IServiceEndpointProvider? provider)
    {
        ArgumentNullException.ThrowIfNull(query);
        var parsed = KubernetesEndpointQuery.Create(query, _parser, _serviceDiscoveryOptions.ApplyAllowedSchemes(query.IncludedSchemes));
        if (parsed.Parse.Match == ServiceHostMatch.PassThrough || (query.IncludedSchemes.Count > 0 && parsed.Schemes.Length == 0))
        {
            // Not a Service name, or every scheme it names is disallowed: MESD's own rules apply.
            Log.PassingOn(_logger, query.ToString(), parsed.Parse.Match == ServiceHostMatch.PassThrough ? "not a Service name" : "no allowed scheme");
            provider = null;
            return false;
        }

        provider = new KubernetesServiceEndpointProvider(parsed, _resolver, _options, _defaultPortName, _logger, _notices, _localNode);
        return true;
    }
}
