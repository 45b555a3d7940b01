using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Discovery.TestSupport;

/// <summary>
/// A real Kestrel server on its own loopback address (127.0.x.y), standing in for one pod. By default it answers every
/// request with 200, its name as the body and an <c>X-Backend</c> header; <see cref="Behavior"/> or
/// <see cref="LoopbackPodOptions.ConfigureApp"/> replace that. It counts requests and keeps what the last one carried.
/// </summary>
public sealed class LoopbackPod : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;
    private int _stopped;
    private volatile string? _lastHost;
    private volatile string? _lastServerName;
    private volatile string? _lastProtocol;

    private LoopbackPod(WebApplication app, string name, string address)
    {
        _app = app;
        Name = name;
        Address = address;
    }

    public string Name { get; }

    public string Address { get; }

    /// <summary>The port Kestrel bound (known once started).</summary>
    public int Port { get; private set; }

    public string Authority => $"{Address}:{Port}";

    /// <summary>Requests received, whatever answered them.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Replaces the default answer (ignored when <see cref="LoopbackPodOptions.ConfigureApp"/> built the pipeline).</summary>
    public Func<HttpContext, Task>? Behavior { get; set; }

    /// <summary>The Host header of the last request.</summary>
    public string? LastHost => _lastHost;

    /// <summary>The TLS server name (SNI) of the last handshake.</summary>
    public string? LastServerName => _lastServerName;

    /// <summary>The protocol of the last request.</summary>
    public string? LastProtocol => _lastProtocol;

    /// <summary>The pod's own services (e.g. its gRPC service implementations).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a pod answering with its name.</summary>
    public static Task<LoopbackPod> StartAsync(string name, X509Certificate2? certificate = null, HttpProtocols protocols = HttpProtocols.Http1AndHttp2, string? address = null, int port = 0)
        => StartAsync(name, new LoopbackPodOptions { Certificate = certificate, Protocols = protocols, Address = address, Port = port });

    public static async Task<LoopbackPod> StartAsync(string name, LoopbackPodOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = options.Address ?? LoopbackAddresses.Next();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        if (options.ShutdownTimeout is { } shutdown)
        {
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdown);
        }

        LoopbackPod? pod = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (options.MaxConcurrentConnections is { } connections)
            {
                kestrel.Limits.MaxConcurrentConnections = connections;
            }

            kestrel.Listen(IPAddress.Parse(address), options.Port, listen =>
            {
                listen.Protocols = options.Protocols;
                if (options.Certificate is { } certificate)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificateSelector = (_, serverName) =>
                        {
                            pod!._lastServerName = serverName;
                            return certificate;
                        },
                    });
                }
            });
        });
        options.ConfigureServices?.Invoke(builder.Services);
        var app = builder.Build();
        pod = new LoopbackPod(app, name, address);
        app.Use((context, next) =>
        {
            Interlocked.Increment(ref pod._requests);
            pod._lastHost = context.Request.Host.Value;
            pod._lastProtocol = context.Request.Protocol;
            return next(context);
        });
        if (options.ConfigureApp is { } configureApp)
        {
            configureApp(app);
        }
        else
        {
            app.Run(pod.AnswerAsync);
        }

        await app.StartAsync();
        pod.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        return pod;
    }

    /// <summary>
    /// Stops listening, then lets requests in flight finish for up to <paramref name="drain"/> (the host's shutdown
    /// timeout when null) before closing what is open: new connections are refused, as when a pod dies. Only the first call acts.
    /// </summary>
    public async Task StopAsync(TimeSpan? drain = null)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            using var bound = drain is { } limit ? new CancellationTokenSource(limit) : null;
            await _app.StopAsync(bound?.Token ?? CancellationToken.None);
        }
    }

    /// <summary>Disposes the server at once: open connections are aborted, not drained.</summary>
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task AnswerAsync(HttpContext context)
    {
        if (Behavior is { } behavior)
        {
            await behavior(context);
            return;
        }

        context.Response.Headers["X-Backend"] = Name;
        await context.Response.WriteAsync(Name);
    }
}
