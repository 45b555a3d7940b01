using System.Net;
using Discovery.Http;
using Discovery.Testing;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Discovery.TrafficPolicies;

/// <summary>
/// The Service fields kube-proxy honours, honoured by Discovery: a Service with <c>sessionAffinity: ClientIP</c> keeps this
/// application on one pod until that pod goes; a node-local Service (<c>internalTrafficPolicy: Local</c>) is reached only on
/// this application's node (<c>NODE_NAME</c>, set here to <c>node-a</c>), and not at all when this node has no pod of it.
/// </summary>
public static class TrafficPolicyScenario
{
    private const string Namespace = "default";
    private const string ThisNode = "node-a";

    public static async Task<ScenarioReport> RunAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var report = new ScenarioReport();
        await using var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions(), cancellationToken);
        var pods = new List<WebApplication>();
        try
        {
            // Three pods of "session-store" and one node-local agent on each of two nodes.
            var sticky = new[] { ("session-store-0", "127.0.0.61"), ("session-store-1", "127.0.0.62"), ("session-store-2", "127.0.0.63") };
            var agents = new[] { ("node-agent-a", "127.0.0.71", "node-a"), ("node-agent-b", "127.0.0.72", "node-b") };
            var stickyPort = await StartPodsAsync(pods, sticky, cancellationToken);
            var agentPort = await StartPodsAsync(pods, agents.Select(a => (a.Item1, a.Item2)).ToArray(), cancellationToken);

            var session = EmulatorObjects.Service(Namespace, "session-store", EmulatorObjects.ServicePort(80, "http", stickyPort));
            session.Spec.SessionAffinity = "ClientIP";
            session.Spec.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 600 } };
            emulator.Apply(session);
            foreach (var (name, address) in sticky)
            {
                emulator.Apply(Slice("session-store", name, address, null, stickyPort));
            }

            var agent = EmulatorObjects.Service(Namespace, "node-agent", EmulatorObjects.ServicePort(80, "http", agentPort));
            agent.Spec.InternalTrafficPolicy = "Local";
            emulator.Apply(agent);
            foreach (var (name, address, node) in agents)
            {
                emulator.Apply(Slice("node-agent", name, address, node, agentPort));
            }

            await using var app = BuildApplication(emulator.CreateClient());
            var client = app.GetRequiredService<IHttpClientFactory>().CreateClient("app");

            output.WriteLine("sessionAffinity: ClientIP (session-store, 3 pods)");
            var answers = await GetManyAsync(client, "http://session-store/", 12, cancellationToken);
            var first = answers[0];
            report.Add(output, "12 requests stick to one pod", answers.All(a => a == first), string.Join(' ', answers));

            emulator.Delete<V1EndpointSlice>(Namespace, "session-store-" + first);
            await WaitAsync(app, "session-store", s => s.ReadyCount == 2, cancellationToken);
            answers = await GetManyAsync(client, "http://session-store/", 6, cancellationToken);
            report.Add(output, $"{first} leaves: the next request picks another pod and sticks to it", answers.All(a => a == answers[0]) && answers[0] != first, string.Join(' ', answers));

            output.WriteLine($"internalTrafficPolicy: Local (node-agent, one pod per node; this application runs on {ThisNode})");
            answers = await GetManyAsync(client, "http://node-agent/", 6, cancellationToken);
            report.Add(output, $"every request goes to the agent on {ThisNode}", answers.All(a => a == "node-agent-a"), string.Join(' ', answers));

            emulator.Delete<V1EndpointSlice>(Namespace, "node-agent-node-agent-a");
            await WaitAsync(app, "node-agent", s => s.ReadyCount == 1, cancellationToken);
            try
            {
                await client.GetStringAsync("http://node-agent/", cancellationToken);
                report.Add(output, $"no agent on {ThisNode}: the request fails rather than go to another node", false, "a response came back");
            }
            catch (DiscoveryHttpRequestException e) when (e.Reason == DiscoveryFailureReason.NoReadyEndpoints)
            {
                report.Add(output, $"no agent on {ThisNode}: the request fails rather than go to another node", true, e.Message);
            }
        }
        finally
        {
            foreach (var pod in pods)
            {
                await pod.DisposeAsync();
            }
        }

        output.WriteLine(report.AllPassed ? "Both policies behaved as kube-proxy's." : "Some step did not behave.");
        return report;
    }

    private static ServiceProvider BuildApplication(IKubernetes api)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton(api);
        services.AddKubernetesDiscovery(o =>
        {
            o.Namespace = Namespace;
            o.AddressMode = AddressMode.PodIP;

            // In a pod this comes from NODE_NAME (Downward API spec.nodeName); see samples/manifests/demo.yaml.
            o.NodeName = ThisNode;
        });
        services.AddHttpClient("app");
        return services.BuildServiceProvider();
    }

    private static V1EndpointSlice Slice(string service, string pod, string address, string? node, int port)
    {
        var endpoint = EmulatorObjects.Endpoint(address, nodeName: node);
        endpoint.TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod, NamespaceProperty = Namespace };
        return EmulatorObjects.EndpointSlice(Namespace, service, $"{service}-{pod}", "IPv4", [endpoint], EmulatorObjects.SlicePort(port, "http"));
    }

    private static async Task<List<string>> GetManyAsync(HttpClient client, string uri, int count, CancellationToken cancellationToken)
    {
        var answers = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            answers.Add(await client.GetStringAsync(uri, cancellationToken));
        }

        return answers;
    }

    private static async Task WaitAsync(IServiceProvider app, string service, Func<ServiceEndpointSnapshot, bool> condition, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        await foreach (var snapshot in app.GetRequiredService<IServiceEndpointResolver>().WatchAsync(new ServiceKey(Namespace, service), deadline.Token))
        {
            if (condition(snapshot))
            {
                return;
            }
        }
    }

    /// <summary>Starts one Kestrel server per pod, all on one port (the container port), each answering with its pod name.</summary>
    private static async Task<int> StartPodsAsync(List<WebApplication> started, (string Name, string Address)[] pods, CancellationToken cancellationToken)
    {
        var port = 0;
        foreach (var (name, address) in pods)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore();
            var listenPort = port;
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(address), listenPort));
            var app = builder.Build();
            app.Run(context => context.Response.WriteAsync(name));
            await app.StartAsync(cancellationToken);
            started.Add(app);
            port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        }

        return port;
    }
}
