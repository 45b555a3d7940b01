using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Discovery.Http;

/// <summary>
/// Reports at host start, as options validation does, every client that <see cref="MesdCoexistence"/> would refuse at its first
/// <c>CreateClient</c>: MESD's handler on a client Discovery applies to, without the Kubernetes endpoint provider.
/// </summary>
/// <remarks>
/// <para>Which clients carry MESD's handler is only known by building them (<c>AddServiceDiscovery()</c> leaves delegates, not
/// types, in the client's options), so the check builds the handlers of the clients the app configured, and only when it can
/// matter: MESD's providers are registered and the Kubernetes one is not. An app without MESD, or with the provider, pays
/// nothing at start. A handler built here is the one the client's first use gets (the factory keeps it for its lifetime); any
/// other failure to build one is left to surface at first use, as before.</para>
/// <para>Throws <see cref="OptionsValidationException"/> for <see cref="DiscoveryHttpClientOptions"/>, the type every other
/// Discovery misconfiguration fails the start with, listing each client and both fixes.</para>
/// </remarks>
internal sealed class MesdCoexistenceStartupCheck : IHostedService
{
    private const string AbstractionsAssembly = "Microsoft.Extensions.ServiceDiscovery.Abstractions";

    private readonly IServiceProvider _services;
    private readonly DiscoveryHttpRegistration _registration;

    public MesdCoexistenceStartupCheck(IServiceProvider services, DiscoveryHttpRegistration registration)
    {
        _services = services;
        _registration = registration;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!MesdWithoutKubernetesProvider())
        {
            return Task.CompletedTask;
        }

        var factory = _services.GetRequiredService<IHttpMessageHandlerFactory>();
        var registry = _services.GetRequiredService<DiscoveryClientRegistry>();
        var failures = new List<string>();
        foreach (var name in ConfiguredClientNames())
        {
            if (!_registration.AppliesTo(name) || !registry.GetOptions(name).Enabled)
            {
                continue;
            }

            try
            {
                factory.CreateHandler(name);
            }
            catch (InvalidOperationException e) when (e.Message == MesdCoexistence.Problem(name))
            {
                failures.Add(e.Message);
            }
#pragma warning disable CA1031 // Any other failure to build a client is the client's own, reported at its first use as before.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(DiscoveryHttpClientOptions), failures);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether MESD's providers are registered (<c>AddServiceDiscovery()</c>) and the Kubernetes one is not.</summary>
    private bool MesdWithoutKubernetesProvider()
    {
        var factoryInterface = Type.GetType(MesdCoexistence.ProviderFactoryInterface + ", " + AbstractionsAssembly, throwOnError: false);
        if (factoryInterface is null
            || _services.GetService(typeof(IEnumerable<>).MakeGenericType(factoryInterface)) is not IEnumerable<object> factories)
        {
            return false;
        }

        var any = false;
        foreach (var f in factories)
        {
            if (f.GetType().FullName == MesdCoexistence.KubernetesProviderFactoryType)
            {
                return false;
            }

            any = true;
        }

        return any;
    }

    /// <summary>
    /// The clients the app configured: every named configuration of <see cref="HttpClientFactoryOptions"/> (a client's
    /// <c>AddServiceDiscovery()</c> is one), and the default client when configuration applies to all clients
    /// (<c>ConfigureHttpClientDefaults</c>).
    /// </summary>
    private SortedSet<string> ConfiguredClientNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var configure in _services.GetServices<IConfigureOptions<HttpClientFactoryOptions>>())
        {
            switch (configure)
            {
                case IConfigureNamedOptions<HttpClientFactoryOptions> when configure.GetType().GetProperty("Name")?.GetValue(configure) is string name:
                    names.Add(name);
                    break;
                case IConfigureNamedOptions<HttpClientFactoryOptions>:
                    names.Add(Options.DefaultName);
                    break;
            }
        }

        return names;
    }
}
