using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>
/// Pods for load scenarios: the shared <see cref="LoopbackPod"/> on an address the scenario picks, answering a 2-byte
/// "ok", with room for 2,000 connections, and killed with a 2 s drain.
/// </summary>
internal static class Pod
{
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(2);

    public static Task<LoopbackPod> StartAsync(string address, int port = 0, X509Certificate2? certificate = null)
        => LoopbackPod.StartAsync(address, new LoopbackPodOptions
        {
            Address = address,
            Port = port,
            Certificate = certificate,
            MaxConcurrentConnections = 2000,
            ShutdownTimeout = Drain,
            ConfigureApp = app => app.Run(context =>
            {
                context.Response.ContentLength = 2;
                return context.Response.WriteAsync("ok");
            }),
        });

    /// <summary>Closes the listener (and open connections): new connections are refused, as when a pod dies.</summary>
    public static Task KillAsync(this LoopbackPod pod) => pod.StopAsync(Drain);
}

/// <summary>Pods on consecutive addresses of 127.77.&lt;subnet&gt;.0/24, all on the same port (a slice's ports apply to every endpoint).</summary>
internal sealed class PodPool : IAsyncDisposable
{
    private PodPool(List<LoopbackPod> pods)
    {
        Pods = pods;
    }

    public IReadOnlyList<LoopbackPod> Pods { get; }

    public int Port => Pods[0].Port;

    public IEnumerable<string> Addresses => Pods.Select(p => p.Address);

    public static string Address(int subnet, int index) => $"127.77.{subnet}.{index + 2}";

    public static async Task<PodPool> StartAsync(int subnet, int count, X509Certificate2? certificate = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var pods = new List<LoopbackPod>();
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
                    await DisposeAsync(pod);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Pods.Select(p => DisposeAsync(p).AsTask()));
    }

    // As a pod is deleted: drained (bounded), then gone.
    private static async ValueTask DisposeAsync(LoopbackPod pod)
    {
        await pod.KillAsync();
        await pod.DisposeAsync();
    }
}
