using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Grpc.Tests;

/// <summary>A real Grpc.AspNetCore server on its own loopback address (h2c), standing in for one pod.</summary>
public sealed class GrpcPod : IAsyncDisposable
{
    // 127.0.0.0/8 is all loopback on Linux: each pod gets its own address. A range apart from the HTTP tests' backends.
    private static int s_nextAddress;

    private readonly WebApplication _app;
    private int _calls;

    private GrpcPod(WebApplication app, string name, string address, int port)
    {
        _app = app;
        Name = name;
        Address = address;
        Port = port;
    }

    public string Name { get; }

    public string Address { get; }

    public int Port { get; }

    /// <summary>Unary calls this pod answered (or failed on purpose).</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, every unary call fails with this status (the pod is broken, whatever the call asks).</summary>
    public StatusCode? FailEveryCallWith { get; set; }

    /// <summary>Whether <see cref="FailEveryCallWith"/> sends response headers first, so that the status arrives in trailers.</summary>
    public bool FailAfterHeaders { get; set; }

    public static string NextAddress()
    {
        var n = Interlocked.Increment(ref s_nextAddress);
        return $"127.{30 + (n / 250 % 200)}.0.{(n % 250) + 2}";
    }

    public static async Task<GrpcPod> StartAsync(string name)
    {
        var address = NextAddress();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(address), 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddRouting();
        builder.Services.AddGrpc();
        GrpcPod? pod = null;
        builder.Services.AddSingleton(_ => pod!);
        var app = builder.Build();
        app.UseRouting();
        app.MapGrpcService<PodsService>();
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        pod = new GrpcPod(app, name, address, new Uri(bound).Port);
        return pod;
    }

    internal void Counted() => Interlocked.Increment(ref _calls);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private sealed class PodsService(GrpcPod pod) : Pods.PodsBase
    {
        public override async Task<WhoReply> Who(WhoRequest request, ServerCallContext context)
        {
            pod.Counted();
            var (status, headersFirst) = pod.FailEveryCallWith is { } broken ? (broken, pod.FailAfterHeaders) : ((StatusCode)request.FailWith, request.HeadersFirst);
            if (status != StatusCode.OK)
            {
                if (headersFirst)
                {
                    await context.WriteResponseHeadersAsync([]);
                }

                throw new RpcException(new Status(status, $"{pod.Name} failed with {status}"));
            }

            return new WhoReply { Pod = pod.Name, Authority = context.Host };
        }

        public override async Task Stream(StreamRequest request, IServerStreamWriter<WhoReply> responseStream, ServerCallContext context)
        {
            for (var i = 0; i < request.Count; i++)
            {
                await responseStream.WriteAsync(new WhoReply { Pod = pod.Name, Authority = context.Host, Sequence = i });
                await Task.Delay(request.IntervalMs, context.CancellationToken);
            }
        }
    }
}
