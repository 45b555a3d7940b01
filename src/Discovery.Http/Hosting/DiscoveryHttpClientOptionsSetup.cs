using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Discovery.Http;

/// <summary>
/// Binds <see cref="DiscoveryHttpClientOptions"/> from <c>Discovery:Http</c> (every client), then
/// <c>Discovery:Http:Clients:&lt;name&gt;</c> (one client); code configuration registered later wins. After all configuration,
/// an unset zone is read from the <c>DISCOVERY_ZONE</c> environment variable.
/// </summary>
internal sealed class DiscoveryHttpClientOptionsSetup : IConfigureNamedOptions<DiscoveryHttpClientOptions>, IPostConfigureOptions<DiscoveryHttpClientOptions>
{
    private readonly IConfiguration? _configuration;

    public DiscoveryHttpClientOptionsSetup(IServiceProvider services)
    {
        _configuration = services.GetService<IConfiguration>();
    }

    public void Configure(DiscoveryHttpClientOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, DiscoveryHttpClientOptions options)
    {
        if (_configuration is null)
        {
            return;
        }

        var section = _configuration.GetSection(DiscoveryHttpClientOptions.SectionName);
        section.Bind(options);
        if (!string.IsNullOrEmpty(name))
        {
            section.GetSection("Clients").GetSection(name).Bind(options);
        }
    }

    public void PostConfigure(string? name, DiscoveryHttpClientOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Zone))
        {
            var zone = Environment.GetEnvironmentVariable(DiscoveryHttpClientOptions.ZoneEnvironmentVariable);
            options.Zone = string.IsNullOrWhiteSpace(zone) ? null : zone.Trim();
        }
    }
}
