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
using Microsoft.Extensions.Logging;

namespace Discovery.Http.Tests;

/// <summary>A real Kestrel server on its own loopback address, standing in for one pod.</summary>
public sealed class Backend : IAsyncDisposable
{
    // 127.0.0.0/8 is all loopback on Linux: each backend gets its own address, as pods do.
    private static int s_nextAddress = 1;

    private readonly WebApplication _app;
    private int _requests;

    private Backend(WebApplication app, string name, string address, int port)
    {
        _app = app;
        Name = name;
        Address = address;
        Port = port;
    }

    public string Name { get; }

    public string Address { get; }

    public int Port { get; }

    public string Authority => $"{Address}:{Port}";

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Replaces the response behaviour; the default answers 200 with the backend name.</summary>
    public Func<HttpContext, Task>? Behavior { get; set; }

    /// <summary>The Host header of the last request.</summary>
    public string? LastHost { get; private set; }

    /// <summary>The TLS server name (SNI) of the last handshake.</summary>
    public string? LastServerName { get; private set; }

    /// <summary>The protocol of the last request.</summary>
    public string? LastProtocol { get; private set; }

    public static string NextAddress()
    {
        var n = Interlocked.Increment(ref s_nextAddress);
        return $"127.0.{n / 250 % 250}.{(n % 250) + 2}";
    }

    public static async Task<Backend> StartAsync(string name, X509Certificate2? certificate = null, HttpProtocols protocols = HttpProtocols.Http1AndHttp2, string? address = null, int port = 0)
    {
        address ??= NextAddress();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        Backend? backend = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(address), port, listen =>
        {
            listen.Protocols = protocols;
            if (certificate is not null)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificateSelector = (_, serverName) =>
                    {
                        backend!.LastServerName = serverName;
                        return certificate;
                    },
                });
            }
        }));
        var app = builder.Build();
        app.Run(async context =>
        {
            var self = backend!;
            Interlocked.Increment(ref self._requests);
            self.LastHost = context.Request.Host.Value;
            self.LastProtocol = context.Request.Protocol;
            if (self.Behavior is { } behavior)
            {
                await behavior(context);
                return;
            }

            context.Response.Headers["X-Backend"] = self.Name;
            await context.Response.WriteAsync(self.Name);
        });
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        backend = new Backend(app, name, address, new Uri(bound).Port);
        return backend;
    }

    public async Task StopAsync() => await _app.StopAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
