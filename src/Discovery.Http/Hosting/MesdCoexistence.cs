using Microsoft.Extensions.Http;

namespace Discovery.Http;

/// <summary>
/// How <c>AddKubernetesDiscovery()</c> composes with Microsoft.Extensions.ServiceDiscovery (MESD) on one client: each host is
/// resolved once, by one of them, never by both. A client with MESD's handler (<c>AddServiceDiscovery()</c> on the client or
/// in <c>ConfigureHttpClientDefaults</c>, as Aspire's service defaults do) is MESD's: Discovery's handler is not added to it,
/// and Kubernetes names on it resolve through MESD from the same watch, provided
/// <c>AddKubernetesServiceEndpointProvider()</c> (package Discovery.ServiceDiscovery) is registered. Without that provider,
/// MESD would send Service names to DNS and silently lose discovery, so building such a client fails with a message that
/// names both fixes.
/// </summary>
/// <remarks>
/// Discovery.Http does not reference MESD: the handler and the provider factory are recognised by type name, once per handler
/// build (every handler lifetime per client), never per request.
/// </remarks>
internal static class MesdCoexistence
{
    internal const string MesdHandlerType = "Microsoft.Extensions.ServiceDiscovery.Http.ResolvingHttpDelegatingHandler";
    internal const string ProviderFactoryInterface = "Microsoft.Extensions.ServiceDiscovery.IServiceEndpointProviderFactory";
    internal const string KubernetesProviderFactoryType = "Discovery.ServiceDiscovery.KubernetesServiceEndpointProviderFactory";

    /// <summary>Whether MESD's resolving handler is among the client's handlers.</summary>
    public static bool UsesMesd(HttpMessageHandlerBuilder builder)
    {
        foreach (var handler in builder.AdditionalHandlers)
        {
            if (handler.GetType().FullName == MesdHandlerType)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Throws unless the Kubernetes endpoint provider is registered with MESD.</summary>
    /// <exception cref="InvalidOperationException">The client would resolve Service names through MESD without Kubernetes.</exception>
    public static void EnsureKubernetesProvider(HttpMessageHandlerBuilder builder, string clientName)
    {
        var mesdHandler = builder.AdditionalHandlers.First(h => h.GetType().FullName == MesdHandlerType);
        var factoryInterface = mesdHandler.GetType().Assembly.GetReferencedAssemblies()
            .Select(name => Type.GetType(ProviderFactoryInterface + ", " + name.FullName, throwOnError: false))
            .FirstOrDefault(type => type is not null);
        if (factoryInterface is not null
            && builder.Services.GetService(typeof(IEnumerable<>).MakeGenericType(factoryInterface)) is IEnumerable<object> factories
            && factories.Any(f => f.GetType().FullName == KubernetesProviderFactoryType))
        {
            return;
        }

        throw new InvalidOperationException(Problem(clientName));
    }

    /// <summary>The message of a client that has MESD's handler without the Kubernetes endpoint provider: what and both fixes.</summary>
    internal static string Problem(string clientName)
    {
        return
            $"HttpClient '{clientName}' has both Microsoft.Extensions.ServiceDiscovery's handler (AddServiceDiscovery()) and Kubernetes discovery " +
            "(AddKubernetesDiscovery()); only one may resolve its hosts, and MESD's handler is on it without the Kubernetes endpoint provider, " +
            "so Service names would silently go to DNS. Either add services.AddKubernetesServiceEndpointProvider() (package Discovery.ServiceDiscovery) " +
            "so that MESD resolves Service names from the Kubernetes watch, or remove AddServiceDiscovery() from this client so that Discovery's " +
            "handler (with its load balancer and passive health) resolves them.";
    }
}
