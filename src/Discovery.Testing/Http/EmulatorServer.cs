using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Testing.Http;

/// <summary>
/// The Kestrel listener on 127.0.0.1 (HTTP/1.1, plain http). It can be stopped and started again
/// on the same port, which is how a refused-connections outage is emulated.
/// </summary>
internal sealed class EmulatorServer : IAsyncDisposable
{
    private readonly Func<HttpContext, Task> _handler;
    private readonly ILoggerFactory _loggerFactory;
    private IHost? _host;

    public EmulatorServer(Func<HttpContext, Task> handler, ILoggerFactory? loggerFactory)
    {
        _handler = handler;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <summary>The port listened on (fixed after the first start).</summary>
    public int Port { get; private set; }

    public bool IsRunning => _host is not null;

    public async Task StartAsync(int port, CancellationToken cancellationToken)
    {
        var host = new HostBuilder()
            .ConfigureServices(services =>
            {
                services.AddSingleton(_loggerFactory);
                services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            })
            .ConfigureWebHost(web => web
                .UseKestrel(kestrel =>
                {
                    kestrel.AddServerHeader = false;
                    kestrel.Limits.MaxRequestBodySize = null;
                    kestrel.Limits.MaxConcurrentConnections = null;
                    kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http1);
                })
                .Configure(app => app.Run(new RequestDelegate(_handler))))
            .Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        _host = host;
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Port = new Uri(addresses.First()).Port;
    }

    public async Task StopAsync()
    {
        var host = _host;
        _host = null;
        if (host is null)
        {
            return;
        }

        await host.StopAsync().ConfigureAwait(false);
        host.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
