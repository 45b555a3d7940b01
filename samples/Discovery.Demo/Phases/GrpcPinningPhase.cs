using System.Diagnostics;
using System.Net;
using Discovery.Demo.Cluster;
using Discovery.Demo.Grpc;
using Discovery.Demo.Story;
using Discovery.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using k8s.Models;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 7: the HTTP/2 pinning a cluster IP causes. A gRPC client keeps one HTTP/2 connection, and kube-proxy picks a pod per
/// connection, so every call of the client lands on the same pod. The same client on <c>kubernetes:///capybara-prod</c> gets
/// every pod from the discovery core and spreads its calls (grpc-dotnet's round_robin), and follows a pod going away.
/// </summary>
public sealed class GrpcPinningPhase : IDemoPhase
{
    /// <summary>The Service name.</summary>
    public const string ServiceName = "capybara-prod";

    private const int ServicePort = 50051;
    private const int Calls = 60;

    private static readonly (string Name, string Address)[] PodNames =
        [("capybara-prod-8f4c2-b7k9d", "127.0.0.51"), ("capybara-prod-8f4c2-n3x6w", "127.0.0.52"), ("capybara-prod-8f4c2-r5q2t", "127.0.0.53")];

    /// <inheritdoc/>
    public string Title => "7. gRPC: a cluster IP pins, kubernetes:/// spreads";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;
        var pods = new List<GrpcPodServer>();
        try
        {
            // Pods share one container port, as a Deployment's do.
            foreach (var (name, address) in PodNames)
            {
                pods.Add(await GrpcPodServer.StartAsync(name, IPAddress.Parse(address), pods.Count == 0 ? 0 : pods[0].Port, cancellationToken));
            }

            var emulator = context.Cluster.Emulator;
            emulator.Apply(EmulatorObjects.Service("default", ServiceName, EmulatorObjects.ServicePort(ServicePort, "grpc", targetPort: pods[0].Port, appProtocol: "kubernetes.io/h2c")));
            PublishSlice(emulator, pods, leaving: null);
            var names = pods.Select(p => p.Name).ToArray();

            await using var clusterIp = ClusterIpForwarder.Start(IPAddress.Parse("127.0.0.50"), [.. pods.Select(p => new IPEndPoint(p.Address, p.Port))]);
            console.Say($"{ServiceName}: three gRPC pods. A client on the cluster IP ({clusterIp.EndPoint}; kube-proxy picks a pod per connection):");
            using var pinnedChannel = GrpcChannel.ForAddress($"http://{clusterIp.EndPoint}");
            var pinned = await CallAsync(new PodName.PodNameClient(pinnedChannel), Calls, cancellationToken);
            console.Bars(Count(pinned.ByPod, names));
            var pinnedOk = pinned.ByPod.Count == 1 && pinned.Failed == 0;
            console.Report(pinnedOk, $"{pinned.ByPod.Values.Max()} of {Calls} calls on one pod: one HTTP/2 connection, one pod");

            console.Say("The same client on kubernetes:///capybara-prod with round_robin:");
            using var channel = GrpcChannel.ForAddress($"kubernetes:///{ServiceName}", new GrpcChannelOptions
            {
                Credentials = ChannelCredentials.Insecure,
                ServiceProvider = context.Application.Services,
                ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },
            });
            var client = new PodName.PodNameClient(channel);

            // round_robin uses a pod once its connection is up: let the three connect before counting.
            await WaitUntilAsync(async () => (await CallAsync(client, 3, cancellationToken)).ByPod.Count == 3, context.Pacing.ChangeTimeout, cancellationToken);
            var spread = await CallAsync(client, Calls, cancellationToken);
            console.Bars(Count(spread.ByPod, names));
            var spreadOk = spread.Failed == 0 && names.All(n => spread.ByPod.GetValueOrDefault(n) >= Calls / names.Length / 2);
            console.Report(spreadOk, $"calls spread over {spread.ByPod.Count} pods: {string.Join(", ", names.Select(n => $"{DemoContext.ShortName(n)} {spread.ByPod.GetValueOrDefault(n)}"))}");

            var leaving = pods[0];
            console.Say($"kubectl delete pod {leaving.Name} → its endpoint turns terminating; it drains and stops.");
            var changedAt = Stopwatch.GetTimestamp();
            PublishSlice(emulator, pods, leaving);
            var followed = await WaitUntilAsync(async () => !(await CallAsync(client, 6, cancellationToken)).ByPod.ContainsKey(leaving.Name), context.Pacing.ChangeTimeout, cancellationToken);
            var followMs = TrafficStatistics.Milliseconds(changedAt, Stopwatch.GetTimestamp());
            await leaving.StopAsync(cancellationToken);
            emulator.Apply(Slice(pods.Skip(1), leaving: null));
            var after = await CallAsync(client, Calls, cancellationToken);
            console.Bars(Count(after.ByPod, names));
            var followOk = followed && after.Failed == 0 && !after.ByPod.ContainsKey(leaving.Name);
            console.Report(followOk, $"the channel stopped calling {leaving.Name} within {TrafficStatistics.FormatMilliseconds(followMs)} (calls included); {after.Failed} failed of {Calls} after it stopped");

            var passed = pinnedOk && spreadOk && followOk;
            return new PhaseResult(
                Title,
                passed,
                passed ? "cluster IP: one pod; kubernetes:///: all pods, pod removal followed" : "pinning, spread or pod removal not as expected",
                $"cluster IP {pinned.ByPod.Values.Max()}/{Calls} on one pod; kubernetes:/// max/min {Ratio(spread.ByPod, names)}; {after.Failed} failed after removal");
        }
        finally
        {
            foreach (var pod in pods)
            {
                await pod.DisposeAsync();
            }
        }
    }

    private static void PublishSlice(KubernetesApiEmulator emulator, IReadOnlyList<GrpcPodServer> pods, GrpcPodServer? leaving) => emulator.Apply(Slice(pods, leaving));

    private static V1EndpointSlice Slice(IEnumerable<GrpcPodServer> pods, GrpcPodServer? leaving)
    {
        var list = pods.ToList();
        var endpoints = list.Select(p =>
        {
            var terminating = ReferenceEquals(p, leaving);
            var endpoint = EmulatorObjects.Endpoint(p.Address.ToString(), ready: !terminating, serving: true, terminating: terminating);
            endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = p.Name, NamespaceProperty = "default" };
            return endpoint;
        });
        return EmulatorObjects.EndpointSlice("default", ServiceName, ServiceName + "-abcde", "IPv4", endpoints, EmulatorObjects.SlicePort(list[0].Port, "grpc", appProtocol: "kubernetes.io/h2c"));
    }

    private static async Task<(Dictionary<string, int> ByPod, int Failed)> CallAsync(PodName.PodNameClient client, int count, CancellationToken cancellationToken)
    {
        var byPod = new Dictionary<string, int>(StringComparer.Ordinal);
        var failed = 0;
        for (var i = 0; i < count; i++)
        {
            try
            {
                var reply = await client.WhoAsync(new WhoRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken);
                byPod[reply.Pod] = byPod.GetValueOrDefault(reply.Pod) + 1;
            }
            catch (RpcException)
            {
                failed++;
            }
        }

        return (byPod, failed);
    }

    private static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan bound, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < bound)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(5, cancellationToken);
        }

        return false;
    }

    private static List<(string Pod, int Count)> Count(Dictionary<string, int> byPod, IEnumerable<string> names)
        => [.. names.Select(n => (n, byPod.GetValueOrDefault(n)))];

    private static string Ratio(Dictionary<string, int> byPod, string[] names)
    {
        var counts = names.Select(n => byPod.GetValueOrDefault(n)).ToArray();
        return counts.Min() == 0 ? "∞" : ((double)counts.Max() / counts.Min()).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
    }
}
