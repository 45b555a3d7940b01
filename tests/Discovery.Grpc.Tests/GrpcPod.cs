using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Grpc.Tests;

/// <summary>A real Grpc.AspNetCore server (h2c) on a shared loopback pod of the cluster, serving <c>Pods</c>.</summary>
public sealed class GrpcPod
{
    private int _calls;

    private GrpcPod(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>The Kestrel server underneath (set once started).</summary>
    public LoopbackPod Pod { get; private set; } = null!;

    public string Address => Pod.Address;

    public int Port => Pod.Port;

    /// <summary>Unary calls this pod answered (or failed on purpose).</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, every unary call fails with this status (the pod is broken, whatever the call asks).</summary>
    public StatusCode? FailEveryCallWith { get; set; }

    /// <summary>Whether <see cref="FailEveryCallWith"/> sends response headers first, so that the status arrives in trailers.</summary>
    public bool FailAfterHeaders { get; set; }

    /// <summary>Starts the server as a pod of <paramref name="cluster"/> (which disposes it).</summary>
    public static async Task<GrpcPod> StartAsync(LoopbackCluster cluster, string name)
    {
        var pod = new GrpcPod(name);
        pod.Pod = await cluster.StartPodAsync(name, new LoopbackPodOptions
        {
            Protocols = HttpProtocols.Http2,
            ConfigureServices = services =>
            {
                services.AddRouting();
                services.AddGrpc();
                services.AddSingleton(pod);
            },
            ConfigureApp = app =>
            {
                app.UseRouting();
                app.MapGrpcService<PodsService>();
            },
        });
        return pod;
    }

    internal void Counted() => Interlocked.Increment(ref _calls);

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
