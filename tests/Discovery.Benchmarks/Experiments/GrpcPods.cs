using System.Net;
using Discovery.Benchmarks.Grpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.Benchmarks.Experiments;

/// <summary>Grpc.AspNetCore servers (h2c) on 127.0.2.x, one per "pod", each answering with its index and counting calls.</summary>
internal sealed class GrpcPods : IAsyncDisposable
{
    private readonly List<WebApplication> _apps;
    private readonly long[] _calls;

    private GrpcPods(List<WebApplication> apps, string[] addresses, int[] ports, long[] calls)
    {
        _apps = apps;
        Addresses = addresses;
        Ports = ports;
        _calls = calls;
    }

    public string[] Addresses { get; }

    public int[] Ports { get; }

    public long Calls(int index) => Interlocked.Read(ref _calls[index]);

    public static async Task<GrpcPods> StartAsync(int count)
    {
        var apps = new List<WebApplication>();
        var calls = new long[count];
        var addresses = new string[count];
        var ports = new int[count];
        for (var i = 0; i < count; i++)
        {
            addresses[i] = $"127.0.2.{i + 1}";
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(addresses[i]), 0, l => l.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(new PodState(i, calls));
            var app = builder.Build();
            app.MapGrpcService<BenchPodService>();
            await app.StartAsync();
            ports[i] = new Uri(app.Urls.First()).Port;
            apps.Add(app);
        }

        return new GrpcPods(apps, addresses, ports, calls);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }

    private sealed record PodState(int Index, long[] Calls);

    private sealed class BenchPodService(PodState pod) : BenchPod.BenchPodBase
    {
        private static readonly Task<WhoReply>[] Replies = [.. Enumerable.Range(0, 64).Select(i => Task.FromResult(new WhoReply { Pod = i }))];

        public override Task<WhoReply> Who(WhoRequest request, ServerCallContext context)
        {
            Interlocked.Increment(ref pod.Calls[pod.Index]);
            return Replies[pod.Index];
        }
    }
}
