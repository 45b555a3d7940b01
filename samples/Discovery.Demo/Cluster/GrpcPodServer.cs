using System.Net;
using Discovery.Demo.Grpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Demo.Cluster;

/// <summary>A stand-in for one gRPC pod: a Grpc.AspNetCore server (HTTP/2 without TLS) on its own loopback address.</summary>
public sealed class GrpcPodServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcPodServer(WebApplication app, string name, IPAddress address, int port)
    {
        _app = app;
        Name = name;
        Address = address;
        Port = port;
    }

    /// <summary>The pod name it answers with.</summary>
    public string Name { get; }

    /// <summary>Its loopback address (the "pod IP").</summary>
    public IPAddress Address { get; }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>Starts a server on <paramref name="address"/>:<paramref name="port"/> (0 picks a free port).</summary>
    public static async Task<GrpcPodServer> StartAsync(string name, IPAddress address, int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new PodIdentity(name));
        var app = builder.Build();
        app.MapGrpcService<PodNameService>();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new GrpcPodServer(app, name, address, port != 0 ? port : new Uri(app.Urls.First()).Port);
    }

    /// <summary>Stops gracefully, as a pod does on SIGTERM.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private sealed record PodIdentity(string Name);

    private sealed class PodNameService(PodIdentity pod) : PodName.PodNameBase
    {
        public override Task<WhoReply> Who(WhoRequest request, ServerCallContext context) => Task.FromResult(new WhoReply { Pod = pod.Name });
    }
}
