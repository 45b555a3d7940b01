using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Polly;

namespace Discovery.Http.Tests;

/// <summary>The whole stack: API emulator, the real watching core, the handler, and Kestrel backends as pods.</summary>
public sealed class EndToEndTests
{
    private static async Task<Backend[]> StartBackendsAsync(int count, string prefix = "pod")
        => await Task.WhenAll(Enumerable.Range(0, count).Select(i => Backend.StartAsync($"{prefix}-{i}")));

    private static async Task DisposeAllAsync(IEnumerable<Backend> backends)
    {
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Requests_reach_every_pod_of_a_watched_service_with_the_host_preserved()
    {
        var backends = await StartBackendsAsync(3);
        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddHttpClient<RoutingTests.AlpacaClient>(c => c.BaseAddress = new Uri("http://alpaca-prod")));
        cluster.ApplyService("alpaca-prod", backends);
        var client = cluster.Client();

        for (var i = 0; i < 30; i++)
        {
            (await client.GetAsync("http://alpaca-prod/api", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }

        Assert.All(backends, b => Assert.True(b.Requests > 0, $"{b.Name} got no request"));
        Assert.All(backends, b => Assert.Equal("alpaca-prod", b.LastHost));
        Assert.StartsWith("pod-", await cluster.Provider.GetRequiredService<RoutingTests.AlpacaClient>().GetNameAsync(), StringComparison.Ordinal);
        await DisposeAllAsync(backends);
    }

    [Fact]
    public async Task Steady_traffic_keeps_the_services_watcher_while_requests_reuse_the_held_snapshot()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var backends = await StartBackendsAsync(1);
        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddSingleton<TimeProvider>(time), o => o.IdleTimeout = TimeSpan.FromMinutes(1));
        cluster.ApplyService("alpaca-prod", backends);
        var resolver = (KubernetesServiceEndpointResolver)cluster.Resolver;
        var client = cluster.Client();

        // Three times the idle timeout of steady traffic: requests hold the snapshot, yet still mark the Service in use.
        for (var i = 0; i < 12; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
            time.Advance(TimeSpan.FromSeconds(15));
        }

        var status = Assert.Single(resolver.GetWatcherStatuses());
        Assert.True(status.Age >= TimeSpan.FromMinutes(3), $"the watcher was restarted: age {status.Age}");

        // Unused for longer than the idle timeout, the watcher stops; the held snapshot is then superseded, and the next
        // request starts a new watcher rather than reuse it.
        for (var i = 0; i < 12 && resolver.GetWatcherStatuses().Count > 0; i++)
        {
            time.Advance(TimeSpan.FromSeconds(15));
        }

        Assert.Empty(resolver.GetWatcherStatuses());
        (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        Assert.Equal(13, backends[0].Requests);
        Assert.True(Assert.Single(resolver.GetWatcherStatuses()).Age < TimeSpan.FromMinutes(1));
        await DisposeAllAsync(backends);
    }

    [Fact]
    public async Task A_readiness_flip_removes_the_pod_from_the_very_next_pick_after_the_snapshot_changes()
    {
        var backends = await StartBackendsAsync(2);
        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddHttpClient("rr").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
        cluster.ApplyService("alpaca-prod", backends);
        var client = cluster.Client("rr");
        await cluster.WaitForSnapshotAsync("alpaca-prod", s => s.UsableEndpoints.Length == 2);
        for (var i = 0; i < 4; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }

        Assert.Equal(2, backends[1].Requests);
        cluster.Emulator.SetEndpointConditions("default", EmulatedCluster.SliceName("alpaca-prod", backends[1]), backends[1].Address, ready: false, serving: false);
        await cluster.WaitForSnapshotAsync("alpaca-prod", s => s.UsableEndpoints.Length == 1);
        for (var i = 0; i < 10; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }

        Assert.Equal(2, backends[1].Requests);
        Assert.Equal(12, backends[0].Requests);

        // Ready again: back in rotation.
        cluster.Emulator.SetEndpointConditions("default", EmulatedCluster.SliceName("alpaca-prod", backends[1]), backends[1].Address, ready: true);
        await cluster.WaitForSnapshotAsync("alpaca-prod", s => s.UsableEndpoints.Length == 2);
        for (var i = 0; i < 4; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }

        Assert.Equal(4, backends[1].Requests);
        await DisposeAllAsync(backends);
    }

    [Fact]
    public async Task A_pod_killed_under_concurrent_load_loses_no_idempotent_request()
    {
        var backends = await StartBackendsAsync(3);
        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddHttpClient("load").AddKubernetesDiscovery(o => o.MaxRetriesAfterSend = 2));
        cluster.ApplyService("alpaca-prod", backends);
        var client = cluster.Client("load");
        const int total = 300;
        var started = 0;
        var failures = new ConcurrentQueue<Exception>();
        var quarter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task WorkerAsync()
        {
            int n;
            while ((n = Interlocked.Increment(ref started)) <= total)
            {
                if (n == total / 4)
                {
                    quarter.TrySetResult();
                }

                try
                {
                    (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            }
        }

        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(WorkerAsync, TestContext.Current.CancellationToken)).ToArray();
        await quarter.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // The pod dies first; the API learns of it a moment later, as in a real cluster.
        await backends[1].DisposeAsync();
        cluster.Emulator.Delete<k8s.Models.V1EndpointSlice>("default", EmulatedCluster.SliceName("alpaca-prod", backends[1]));
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Empty(failures);
        Assert.InRange(backends.Sum(b => b.Requests), total, total + 8);
        await backends[0].DisposeAsync();
        await backends[2].DisposeAsync();
    }

    [Fact]
    public async Task Standard_resilience_handler_attempts_go_to_different_pods()
    {
        var backends = await StartBackendsAsync(3);
        var attempts = new ConcurrentQueue<(string Request, string Pod)>();
        foreach (var backend in backends)
        {
            var self = backend;
            var failing = backend != backends[2];
            backend.Behavior = async context =>
            {
                attempts.Enqueue((context.Request.Headers["X-Test-Request"].ToString(), self.Name));
                context.Response.StatusCode = failing ? 503 : 200;
                await context.Response.WriteAsync(self.Name);
            };
        }

        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddHttpClient("resilient")
            .AddKubernetesDiscovery(o => o.PassiveHealth.Enabled = false)
            .AddStandardResilienceHandler(o =>
            {
                o.Retry.MaxRetryAttempts = 2;
                o.Retry.Delay = TimeSpan.Zero;
                o.Retry.BackoffType = DelayBackoffType.Constant;
                o.Retry.UseJitter = false;
            }));
        cluster.ApplyService("alpaca-prod", backends);

        // Two of three pods answer 503 and passive health is off: only the handler's memory of the pods a request already
        // tried keeps the outer handler's three attempts off a pod tried before. Enough requests that picking afresh at
        // random would repeat a pod in one of them (about a one in three chance per request).
        const int requests = 20;
        for (var i = 0; i < requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
            request.Headers.Add("X-Test-Request", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await cluster.Client("resilient").SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var byRequest = attempts.GroupBy(a => a.Request).ToDictionary(g => g.Key, g => g.Select(a => a.Pod).ToArray());
        Assert.Equal(requests, byRequest.Count);
        Assert.All(byRequest, r =>
        {
            Assert.True(r.Value.Distinct().Count() == r.Value.Length, $"request {r.Key} went to a pod twice: {string.Join(", ", r.Value)}");
            Assert.Equal(backends[2].Name, r.Value[^1]);
        });
        Assert.Equal(requests, backends[2].Requests);
        await DisposeAllAsync(backends);
    }

    [Fact]
    public async Task Zone_preference_uses_the_zones_published_in_slices()
    {
        var backends = await StartBackendsAsync(4);
        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddHttpClient("z").AddKubernetesDiscovery(o => o.Zone = "zone-a"));
        cluster.ApplyService("alpaca-prod", backends, zone: b => b.Name is "pod-0" or "pod-1" ? "zone-a" : "zone-b");

        for (var i = 0; i < 20; i++)
        {
            (await cluster.Client("z").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }

        Assert.Equal(20, backends[0].Requests + backends[1].Requests);
        await DisposeAllAsync(backends);
    }

    [Fact]
    public async Task Unknown_service_and_svc_ns_pass_through()
    {
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var cluster = await EmulatedCluster.StartAsync(s => s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => recorder));

        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client().GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));
        Assert.Equal(DiscoveryFailureReason.ServiceNotFound, error.Reason);
        Assert.Contains("Service 'alpaca-prod' was not found in namespace 'default'", error.Message, StringComparison.Ordinal);

        (await cluster.Client("x").GetAsync("http://intranet.corp/", TestContext.Current.CancellationToken)).Dispose();
        Assert.Equal(new Uri("http://intranet.corp/"), recorder.Seen.Single().Uri);
    }

    [Fact]
    public async Task Service_without_ready_endpoints_reports_counts()
    {
        var backends = await StartBackendsAsync(2);
        await using var cluster = await EmulatedCluster.StartAsync();
        cluster.ApplyService("alpaca-prod", backends);
        foreach (var backend in backends)
        {
            cluster.Emulator.SetEndpointConditions("default", EmulatedCluster.SliceName("alpaca-prod", backend), backend.Address, ready: false, serving: false);
        }

        await cluster.WaitForSnapshotAsync("alpaca-prod", s => s.UsableEndpoints.IsEmpty);
        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client().GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));

        Assert.Equal(DiscoveryFailureReason.NoReadyEndpoints, error.Reason);
        Assert.Contains("(2 not ready, 0 terminating)", error.Message, StringComparison.Ordinal);
        await DisposeAllAsync(backends);
    }

    [Fact]
    public async Task Rbac_refusal_names_what_to_grant()
    {
        await using var cluster = await EmulatedCluster.StartAsync();
        cluster.Emulator.Apply(Discovery.Testing.EmulatorObjects.Service("default", "alpaca-prod", Discovery.Testing.EmulatorObjects.ServicePort(80, "http")));
        cluster.Emulator.Access.Deny("default", "endpointslices", "list");
        cluster.Emulator.Access.Deny("default", "endpoints", "list");

        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client().GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));

        Assert.Equal(DiscoveryFailureReason.Forbidden, error.Reason);
        Assert.IsType<KubernetesForbiddenException>(error.InnerException);
        Assert.Contains("in namespace 'default'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Role", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_unreachable_before_the_first_sync()
    {
        await using var cluster = await EmulatedCluster.StartAsync(discovery: o => o.InitialSyncTimeout = TimeSpan.FromMilliseconds(500));
        await cluster.Emulator.Faults.StartOutageAsync(Discovery.Testing.OutageMode.RefuseConnections);

        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client().GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));

        Assert.Equal(DiscoveryFailureReason.ApiUnavailable, error.Reason);
        Assert.Contains("could not be reached to discover Service 'alpaca-prod' in namespace 'default'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Namespace_outside_the_allow_list_is_refused()
    {
        await using var cluster = await EmulatedCluster.StartAsync(discovery: o => o.AllowedNamespaces.Add("default"));

        var error = await Assert.ThrowsAsync<DiscoveryHttpRequestException>(() => cluster.Client().GetAsync("http://vault.secrets.svc/", TestContext.Current.CancellationToken));

        Assert.Equal(DiscoveryFailureReason.NamespaceNotAllowed, error.Reason);
        Assert.Equal("secrets", error.Namespace);
    }
}
