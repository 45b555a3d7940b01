using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Discovery.Integrations.Tests;

/// <summary>A real Kestrel server on its own loopback address (127.0.0.x), standing in for one pod; answers with its name.</summary>
public sealed class Pod : IAsyncDisposable
{
    // A range of 127/8 of its own, apart from the other test projects' backends, so that parallel runs never collide.
    private static int s_next;

    private readonly WebApplication _app;
    private int _requests;

    private Pod(WebApplication app, string name, string address, int port)
    {
        _app = app;
        Name = name;
        Address = address;
        Port = port;
    }

    public string Name { get; }

    public string Address { get; }

    public int Port { get; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The Host header of the last request.</summary>
    public string? LastHost { get; private set; }

    /// <summary>The HTTP protocol of the last request (<c>HTTP/1.1</c>, <c>HTTP/2</c>).</summary>
    public string? LastProtocol { get; private set; }

    /// <param name="name">The pod's name, which it answers with.</param>
    /// <param name="protocols">What Kestrel speaks; <see cref="HttpProtocols.Http2"/> on cleartext is an h2c-only server (prior knowledge).</param>
    public static async Task<Pod> StartAsync(string name, HttpProtocols protocols = HttpProtocols.Http1AndHttp2)
    {
        var n = Interlocked.Increment(ref s_next);
        var address = $"127.0.{200 + (n / 250 % 50)}.{(n % 250) + 2}";
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(address), 0, listen => listen.Protocols = protocols));
        var app = builder.Build();
        Pod? pod = null;
        app.Run(async context =>
        {
            var self = pod!;
            Interlocked.Increment(ref self._requests);
            self.LastHost = context.Request.Host.Value;
            self.LastProtocol = context.Request.Protocol;
            await context.Response.WriteAsync(self.Name);
        });
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        pod = new Pod(app, name, address, new Uri(bound).Port);
        return pod;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
