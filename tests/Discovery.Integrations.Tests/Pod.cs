using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
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

    public static async Task<Pod> StartAsync(string name)
    {
        var n = Interlocked.Increment(ref s_next);
        var address = $"127.0.{200 + (n / 250 % 50)}.{(n % 250) + 2}";
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(address), 0));
        var app = builder.Build();
        Pod? pod = null;
        app.Run(async context =>
        {
            var self = pod!;
            Interlocked.Increment(ref self._requests);
            self.LastHost = context.Request.Host.Value;
            await context.Response.WriteAsync(self.Name);
        });
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        pod = new Pod(app, name, address, new Uri(bound).Port);
        return pod;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
