using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Discovery.Benchmarks.Experiments;

/// <summary>Kestrel backends on 127.0.0.2, 127.0.0.3, … all on the same port (one EndpointSlice port fits them all).</summary>
internal sealed class Backends : IAsyncDisposable
{
    private readonly WebApplication[] _apps;
    private readonly long[] _hits;

    private Backends(WebApplication[] apps, string[] addresses, int port, long[] hits)
    {
        _apps = apps;
        Addresses = addresses;
        Port = port;
        _hits = hits;
    }

    public string[] Addresses { get; }

    public int Port { get; }

    public long Hits(int index) => Interlocked.Read(ref _hits[index]);

    public void ResetHits()
    {
        for (var i = 0; i < _hits.Length; i++)
        {
            Interlocked.Exchange(ref _hits[i], 0);
        }
    }

    /// <param name="count">How many backends.</param>
    /// <param name="delay">Per backend index, how long it waits before answering (zero: at once).</param>
    /// <param name="firstDelay">Per backend index, how long it waits before its first answer only (a cold start); none when null.</param>
    public static async Task<Backends> StartAsync(int count, Func<int, TimeSpan> delay, Func<int, TimeSpan>? firstDelay = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var addresses = Enumerable.Range(0, count).Select(i => $"127.0.0.{i + 2}").ToArray();
            var hits = new long[count];
            var apps = new List<WebApplication>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    apps.Add(await StartOneAsync(addresses[i], port, i, delay(i), firstDelay?.Invoke(i) ?? TimeSpan.Zero, hits));
                }

                return new Backends([.. apps], addresses, port, hits);
            }
            catch (IOException) when (attempt < 5)
            {
                foreach (var app in apps)
                {
                    await app.DisposeAsync();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<WebApplication> StartOneAsync(string address, int port, int index, TimeSpan delay, TimeSpan firstDelay, long[] hits)
    {
        var answered = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Parse(address), port));
        var app = builder.Build();
        var body = "ok"u8.ToArray();
        app.Run(async context =>
        {
            Interlocked.Increment(ref hits[index]);
            var wait = Interlocked.Exchange(ref answered, 1) == 0 ? delay + firstDelay : delay;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
        await app.StartAsync();
        return app;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
