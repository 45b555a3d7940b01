using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>A real Kestrel server on its own loopback address standing in for one pod; counts what it receives.</summary>
internal sealed class Pod : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _requests;
    private int _stopped;

    private Pod(WebApplication app, string address, int port)
    {
        _app = app;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public int Port { get; }

    public string Authority => $"{Address}:{Port}";

    public long Requests => Interlocked.Read(ref _requests);

    public static async Task<Pod> StartAsync(string address, int port = 0, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(address), port, listen =>
            {
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
            kestrel.Limits.MaxConcurrentConnections = 2000;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        Pod? pod = null;
        app.Run(context =>
        {
            Interlocked.Increment(ref pod!._requests);
            context.Response.ContentLength = 2;
            return context.Response.WriteAsync("ok");
        });
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        pod = new Pod(app, address, new Uri(bound).Port);
        return pod;
    }

    /// <summary>Closes the listener (and open connections): new connections are refused, as when a pod dies.</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Pods on consecutive addresses of 127.77.&lt;subnet&gt;.0/24, all on the same port (a slice's ports apply to every endpoint).</summary>
internal sealed class PodPool : IAsyncDisposable
{
    private PodPool(List<Pod> pods)
    {
        Pods = pods;
    }

    public IReadOnlyList<Pod> Pods { get; }

    public int Port => Pods[0].Port;

    public IEnumerable<string> Addresses => Pods.Select(p => p.Address);

    public static string Address(int subnet, int index) => $"127.77.{subnet}.{index + 2}";

    public static async Task<PodPool> StartAsync(int subnet, int count, X509Certificate2? certificate = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var pods = new List<Pod>();
            try
            {
                var first = await Pod.StartAsync(Address(subnet, 0), 0, certificate);
                pods.Add(first);
                for (var i = 1; i < count; i++)
                {
                    pods.Add(await Pod.StartAsync(Address(subnet, i), first.Port, certificate));
                }

                return new PodPool(pods);
            }
            catch (IOException) when (attempt < 5)
            {
                // The port was taken on one of the other addresses: try another port.
                foreach (var pod in pods)
                {
                    await pod.DisposeAsync();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Pods.Select(p => p.DisposeAsync().AsTask()));
    }

    /// <summary>A loopback address and port where nothing listens.</summary>
    public static (string Address, int Port) Refusing(string address)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return (address, ((IPEndPoint)socket.LocalEndPoint!).Port);
    }
}
