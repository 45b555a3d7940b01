using System.Net.Sockets;
using Discovery.Testing;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Discovery.Http.Tests;

/// <summary>
/// <c>AddKubernetesDiscovery()</c> applies to every client, and external names such as <c>example.com</c> have the shape of
/// <c>service.namespace</c>: an app's ordinary external calls must reach DNS unchanged, without watchers or API traffic.
/// </summary>
public class ExternalHostTests
{
    private const string Token = "app-token";
    private const string User = "system:serviceaccount:default:app";

    private static readonly string[] ExternalHosts =
        ["example.com", "shop.internal", "api.corp", "www.example", "billing.acme", "search.io", "cdn.net", "mail.org", "status.dev", "nosuch.default"];

    [Fact]
    public async Task External_names_go_to_dns_with_at_most_one_api_request_per_host_and_no_watcher()
    {
        // One server stands for every external name (the name-resolution hook below); another is the pod of a real Service.
        await using var external = await Backend.StartAsync("external");
        await using var pod = await Backend.StartAsync("alpaca-pod");
        var logs = new FakeLogCollector();
        EmulatedCluster? started = null;
        await using var cluster = started = await EmulatedCluster.StartAsync(services =>
        {
            // The app's ServiceAccount: a Role in namespace "default" only.
            services.AddSingleton<IKubernetes>(_ => started!.Emulator.CreateClient(Token));
            services.AddLogging(l => l.AddProvider(new FakeLoggerProvider(logs)));
            services.AddHttpClient("app").ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    // Test name resolution: names go to the external server, addresses (discovered pods) to themselves.
                    var target = IPAddress.TryParse(context.DnsEndPoint.Host, out var address)
                        ? new IPEndPoint(address, context.DnsEndPoint.Port)
                        : new IPEndPoint(IPAddress.Parse(external.Address), external.Port);
                    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        await socket.ConnectAsync(target, cancellationToken);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            });
        });
        cluster.Emulator.Access.AddUser(Token, User, restricted: true);
        cluster.Emulator.Access.Grant(User, "default", ["services", "endpointslices", "endpoints"], ["get", "list", "watch"]);
        cluster.ApplyService("alpaca", [pod]);
        var client = cluster.Client("app");
        var ct = TestContext.Current.CancellationToken;

        var requests = Enumerable.Range(0, 1000).Select(i => ExternalHosts[i % ExternalHosts.Length]);
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (host, token) =>
        {
            using var response = await client.GetAsync($"http://{host}/path", token);
            response.EnsureSuccessStatusCode();
            Assert.Equal("external", response.Headers.GetValues("X-Backend").Single());
        });

        // The Service the Role covers is still discovered (to its pod, not through the name hook).
        for (var i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync("http://alpaca.default/path", ct);
            Assert.Equal("alpaca-pod", response.Headers.GetValues("X-Backend").Single());
        }

        Assert.Equal(1000, external.Requests);
        var emulatorRequests = cluster.Emulator.Requests;
        foreach (var host in ExternalHosts)
        {
            var (name, ns) = (host.Split('.')[0], host.Split('.')[1]);
            var forHost = emulatorRequests.Count(r => r.Path.Contains($"/namespaces/{ns}/", StringComparison.Ordinal) && (ns != "default" || r.PathAndQuery.Contains("metadata.name%3D" + name, StringComparison.Ordinal) || r.PathAndQuery.Contains("metadata.name=" + name, StringComparison.Ordinal)));
            Assert.True(forHost <= 1, $"{host}: {forHost} API requests");
        }

        var resolver = cluster.Provider.GetRequiredService<KubernetesServiceEndpointResolver>();
        Assert.Equal(["default/alpaca"], resolver.GetWatcherStatuses().Select(s => s.Service.ToString()));
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Level >= LogLevel.Warning);
    }
}
