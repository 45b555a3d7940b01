using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Discovery.Demo.App;

/// <summary>
/// The application under demonstration: an ordinary generic host whose HttpClients call Services by name. The
/// one line that matters is <c>AddKubernetesDiscovery()</c>; everything else is what any app already has.
/// </summary>
public sealed class DemoApplication : IAsyncDisposable
{
    private readonly IHost _host;

    private DemoApplication(IHost host) => _host = host;

    /// <summary>The resolver the discovery handler uses; the demo subscribes to it to show changes arriving.</summary>
    public IServiceEndpointResolver Resolver => _host.Services.GetRequiredService<IServiceEndpointResolver>();

    /// <summary>Builds and starts the host.</summary>
    public static async Task<DemoApplication> StartAsync(DemoApplicationSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [.. settings.ConfigurationArgs] });

        // The demo writes its own story to the console; the library's log shows only what needs attention.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);

        if (settings.ApiClient is not null)
        {
            // An IKubernetes in the container is the client Discovery uses: here, one talking to the emulator.
            builder.Services.AddSingleton(settings.ApiClient);
        }

        builder.Services.AddKubernetesDiscovery(options =>
        {
            options.Namespace ??= settings.Namespace;
            options.KubeconfigPath ??= settings.KubeconfigPath;
            options.KubeconfigContext ??= settings.KubeconfigContext;
            if (settings.ConnectToPodIPs)
            {
                options.AddressMode = AddressMode.PodIP;
            }
        });

        // gRPC channels on kubernetes:///<service> addresses get the same live endpoint sets.
        builder.Services.AddKubernetesGrpcResolver();

        builder.Services.AddHttpClient<PodNameClient>(http => http.Timeout = TimeSpan.FromSeconds(10));

        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new DemoApplication(host);
    }

    /// <summary>The application's services, for channels created with <c>GrpcChannelOptions.ServiceProvider</c>.</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>A typed client from the application's container, as a controller or service would receive it.</summary>
    public PodNameClient CreateClient() => _host.Services.GetRequiredService<PodNameClient>();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
