using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Discovery.Demo.Cluster;

/// <summary>
/// A stand-in for one pod: a Kestrel server on its own loopback address that answers every request with its
/// name, so the demo can show which pod served each request.
/// </summary>
public sealed class PodServer : IAsyncDisposable
{
    private WebApplication? _app;
    private long _requests;
    private long _inFlight;
    private int _stopped;

    private PodServer(string name, IPAddress address)
    {
        Name = name;
        Address = address;
    }

    /// <summary>The pod name it answers with.</summary>
    public string Name { get; }

    /// <summary>Its loopback address (the "pod IP").</summary>
    public IPAddress Address { get; }

    /// <summary>The port it listens on (the container port).</summary>
    public int Port { get; private set; }

    /// <summary>Requests it has answered.</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>Requests being answered right now; a graceful stop waits for them.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Whether it has been stopped.</summary>
    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Starts a pod server listening on <paramref name="address"/>:<paramref name="port"/> (0 picks a free port).</summary>
    /// <exception cref="IOException">The address and port are in use.</exception>
    public static async Task<PodServer> StartAsync(string name, IPAddress address, int port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port));

        var app = builder.Build();
        var server = new PodServer(name, address) { _app = app };
        app.Run(async context =>
        {
            Interlocked.Increment(ref server._inFlight);
            try
            {
                Interlocked.Increment(ref server._requests);
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync(name, context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref server._inFlight);
            }
        });

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        server.Port = port != 0 ? port : GetBoundPort(app);
        return server;
    }

    /// <summary>Stops gracefully: refuses new connections and lets requests in flight finish, as a pod does on SIGTERM.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0 && _app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Address}:{Port})";

    // Kestrel publishes the port it actually bound (for port 0) in the server addresses once started.
    private static int GetBoundPort(WebApplication app) => new Uri(app.Urls.First()).Port;
}
