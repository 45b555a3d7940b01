using System.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Http.Tests;

public sealed class RoutingTests
{
    private static readonly ServiceKey Alpaca = FakeEndpointResolver.Key("alpaca-prod");

    [Fact]
    public async Task Request_goes_to_an_endpoint_with_path_query_and_host_kept()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        string? seenPath = null;
        backend.Behavior = async context =>
        {
            seenPath = context.Request.Path + context.Request.QueryString;
            await context.Response.WriteAsync("ok");
        };
        await using var services = TestServices.Create();
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend));

        using var response = await services.Client().GetAsync("http://alpaca-prod/api/items?id=42&q=a%20b", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/api/items?id=42&q=a%20b", seenPath);
        Assert.Equal("alpaca-prod", backend.LastHost);
        Assert.Equal(new Uri("http://alpaca-prod/api/items?id=42&q=a%20b"), response.RequestMessage!.RequestUri);
        Assert.Null(response.RequestMessage.Headers.Host);
    }

    [Fact]
    public async Task Synchronously_completed_send_is_recorded_and_the_request_restored()
    {
        // A primary handler that answers synchronously takes the path without an async state machine.
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var services = TestServices.Create(s => s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => recorder));
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint("10.0.0.1", 8080, "pod-a"));
        var client = services.Client("x");

        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/api?i=" + i);
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(new Uri("http://alpaca-prod/api?i=" + i), request.RequestUri);
            Assert.Null(request.Headers.Host);
        }

        Assert.Equal(
            ["http://10.0.0.1:8080/api?i=0 alpaca-prod", "http://10.0.0.1:8080/api?i=1 alpaca-prod", "http://10.0.0.1:8080/api?i=2 alpaca-prod"],
            recorder.Seen.Select(seen => $"{seen.Uri} {seen.Host}"));
    }

    [Fact]
    public async Task Synchronous_503_or_throw_is_retried_on_another_endpoint()
    {
        var recorder = new RecordingHandler(request => request.RequestUri!.Host switch
        {
            "10.0.0.1" => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable),
            "10.0.0.2" => throw new HttpRequestException(HttpRequestError.ConnectionError, "refused"),
            _ => new HttpResponseMessage(HttpStatusCode.OK),
        });
        await using var services = TestServices.Create(s => s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => recorder).AddKubernetesDiscovery(o => o.MaxRetriesAfterSend = 2));
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.Endpoint("10.0.0.1", 8080, "pod-a"),
            FakeEndpointResolver.Endpoint("10.0.0.2", 8080, "pod-b"),
            FakeEndpointResolver.Endpoint("10.0.0.3", 8080, "pod-c"));
        var client = services.Client("x");

        for (var i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/");
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(new Uri("http://alpaca-prod/"), request.RequestUri);
            Assert.Null(request.Headers.Host);
        }

        Assert.All(recorder.Seen, seen => Assert.Equal("alpaca-prod", seen.Host));
        Assert.Contains(recorder.Seen, seen => seen.Uri!.Host == "10.0.0.3");
    }

    [Fact]
    public async Task Alternating_paths_to_one_endpoint_each_arrive_intact_and_the_sync_api_works()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        var paths = new System.Collections.Concurrent.ConcurrentQueue<string>();
        backend.Behavior = async context =>
        {
            paths.Enqueue(context.Request.Path + context.Request.QueryString);
            await context.Response.WriteAsync("ok");
        };
        await using var services = TestServices.Create();
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend));
        var client = services.Client();

        foreach (var path in new[] { "/a", "/a", "/b?x=1", "/a", "/b?x=2" })
        {
            (await client.GetAsync("http://alpaca-prod" + path, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode().Dispose();
        }

        using var sync = client.Send(new HttpRequestMessage(HttpMethod.Get, "http://alpaca-prod/sync"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
        Assert.Equal(["/a", "/a", "/b?x=1", "/a", "/b?x=2", "/sync"], paths);
    }

    [Fact]
    public async Task Explicit_service_port_maps_to_the_target_port_and_stays_in_the_host_header()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        await using var services = TestServices.Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.ServiceInfo(new ServicePortInfo("http", 8080, "http", "TCP", null, null), new ServicePortInfo("admin", 9090, "admin", "TCP", null, null)),
            new ServiceEndpoint(backend.Address, System.Net.Sockets.AddressFamily.InterNetwork, [new EndpointPort("http", backend.Port, "TCP", null), new EndpointPort("admin", 1, "TCP", null)], true, true, false));

        using var response = await services.Client().GetAsync("http://alpaca-prod.default.svc.cluster.local:8080/", TestContext.Current.CancellationToken);

        Assert.Equal("pod-a", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("alpaca-prod.default.svc.cluster.local:8080", backend.LastHost);
    }

    [Fact]
    public async Task Named_port_label_selects_the_port_and_is_not_sent_as_host()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        await using var services = TestServices.Create();
        services.Resolver.Publish(
            Alpaca,
            FakeEndpointResolver.ServiceInfo(new ServicePortInfo("http", 80, "http", "TCP", null, null), new ServicePortInfo("admin", 9090, "admin", "TCP", null, null)),
            new ServiceEndpoint(backend.Address, System.Net.Sockets.AddressFamily.InterNetwork, [new EndpointPort("http", 1, "TCP", null), new EndpointPort("admin", backend.Port, "TCP", null)], true, true, false));

        using var response = await services.Client().GetAsync("http://_admin.alpaca-prod/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alpaca-prod", backend.LastHost);
    }

    [Fact]
    public async Task Round_robin_spreads_requests_evenly_over_real_backends()
    {
        var backends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Backend.StartAsync($"pod-{i}")));
        await using var services = TestServices.Create(s => s.AddHttpClient("rr").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);
        var client = services.Client("rr");

        for (var i = 0; i < 30; i++)
        {
            using var response = await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
            response.EnsureSuccessStatusCode();
        }

        Assert.All(backends, b => Assert.Equal(10, b.Requests));
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Seeded_random_and_default_policy_reach_every_backend()
    {
        var backends = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Backend.StartAsync($"pod-{i}")));
        await using var services = TestServices.Create(s =>
        {
            s.AddHttpClient("random").AddKubernetesDiscovery(o => o.Policy = new RandomPolicy(new Random(5)));
            s.AddHttpClient("p2c");
        });
        services.Resolver.Publish(Alpaca, [.. backends.Select(b => FakeEndpointResolver.Endpoint(b))]);

        foreach (var name in new[] { "random", "p2c" })
        {
            var before = backends.Select(b => b.Requests).ToArray();
            var client = services.Client(name);
            for (var i = 0; i < 60; i++)
            {
                using var response = await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
                response.EnsureSuccessStatusCode();
            }

            // Random: 60 requests over 3 backends, 20 each on average; fewer than 5 is over 4 sigma away. Power of two choices
            // also weighs latency, which on loopback is mostly noise, so only reaching every backend is certain.
            var counts = backends.Select((b, i) => b.Requests - before[i]).ToArray();
            Assert.All(counts, count => Assert.InRange(count, name == "random" ? 5 : 1, 60));
        }

        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Readiness_flip_removes_a_backend_from_the_very_next_pick()
    {
        await using var a = await Backend.StartAsync("pod-a");
        await using var b = await Backend.StartAsync("pod-b");
        await using var services = TestServices.Create(s => s.AddHttpClient("rr").AddKubernetesDiscovery(o => o.LoadBalancingPolicy = LoadBalancingPolicyNames.RoundRobin));
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(a), FakeEndpointResolver.Endpoint(b));
        var client = services.Client("rr");
        for (var i = 0; i < 4; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }

        Assert.Equal(2, b.Requests);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(a), FakeEndpointResolver.Endpoint(b, ready: false));
        for (var i = 0; i < 10; i++)
        {
            (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        }

        Assert.Equal(2, b.Requests);
        Assert.Equal(12, a.Requests);
    }

    [Fact]
    public async Task Ip_hosts_pass_through_untouched()
    {
        await using var backend = await Backend.StartAsync("plain", address: "127.0.0.1");
        await using var services = TestServices.Create();

        using var response = await services.Client().GetAsync($"http://127.0.0.1:{backend.Port}/x", TestContext.Current.CancellationToken);

        Assert.Equal("plain", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal($"127.0.0.1:{backend.Port}", backend.LastHost);
        Assert.Equal(0, services.Resolver.AsyncCalls);
    }

    [Fact]
    public async Task External_and_missing_svc_ns_hosts_pass_through_to_dns()
    {
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.OK));
        await using var services = TestServices.Create(s => s.AddHttpClient("x").ConfigurePrimaryHttpMessageHandler(() => recorder));
        services.Resolver.PublishMissing(FakeEndpointResolver.Key("beta", "corp"));
        var client = services.Client("x");

        (await client.GetAsync("http://api.example.com/a", TestContext.Current.CancellationToken)).Dispose();
        (await client.GetAsync("http://beta.corp/b", TestContext.Current.CancellationToken)).Dispose();
        (await client.GetAsync("http://localhost/c", TestContext.Current.CancellationToken)).Dispose();

        Assert.Equal(
            [(new Uri("http://api.example.com/a"), (string?)null), (new Uri("http://beta.corp/b"), null), (new Uri("http://localhost/c"), null)],
            recorder.Seen.ToArray());
    }

    [Fact]
    public async Task Svc_ns_host_is_a_service_when_it_exists()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        await using var services = TestServices.Create();
        services.Resolver.Publish(FakeEndpointResolver.Key("alpaca-prod", "team"), FakeEndpointResolver.Endpoint(backend));

        using var response = await services.Client().GetAsync("http://alpaca-prod.team/", TestContext.Current.CancellationToken);

        Assert.Equal("pod-a", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("alpaca-prod.team", backend.LastHost);
    }

    [Fact]
    public async Task Named_and_typed_clients_resolve_services_and_opted_out_clients_do_not()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.NoContent));
        await using var services = TestServices.Create(s =>
        {
            s.AddHttpClient<AlpacaClient>(c => c.BaseAddress = new Uri("http://alpaca-prod"));
            s.AddHttpClient("named", c => c.BaseAddress = new Uri("http://alpaca-prod.default.svc/"));
            s.AddHttpClient("raw").ConfigurePrimaryHttpMessageHandler(() => recorder).RemoveKubernetesDiscovery();
        });
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend));

        Assert.Equal("pod-a", await services.Get<AlpacaClient>().GetNameAsync());
        Assert.Equal("pod-a", await services.Client("named").GetStringAsync("/", TestContext.Current.CancellationToken));
        using var raw = await services.Client("raw").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, raw.StatusCode);
        Assert.Equal(new Uri("http://alpaca-prod/"), recorder.Seen.Single().Uri);
        Assert.Equal(2, backend.Requests);
    }

    [Fact]
    public async Task Only_opted_in_clients_resolve_when_discovery_is_registered_per_client()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        var recorder = new RecordingHandler(_ => new HttpResponseMessage(HttpStatusCode.NoContent));
        await using var services = TestServices.Create(
            s =>
            {
                s.AddHttpClient("on").AddKubernetesDiscovery();
                s.AddHttpClient("off").ConfigurePrimaryHttpMessageHandler(() => recorder);
            },
            registerForAllClients: false);
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend));

        Assert.Equal("pod-a", await services.Client("on").GetStringAsync("http://alpaca-prod/", TestContext.Current.CancellationToken));
        (await services.Client("off").GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        Assert.Equal(new Uri("http://alpaca-prod/"), recorder.Seen.Single().Uri);
    }

    [Fact]
    public async Task H2c_app_protocol_sends_http2_without_tls()
    {
        await using var backend = await Backend.StartAsync("grpc-pod", protocols: HttpProtocols.Http2);
        await using var services = TestServices.Create();
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend, appProtocol: "kubernetes.io/h2c"));

        using var response = await services.Client().GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("HTTP/2", backend.LastProtocol);
        Assert.Equal(HttpVersion.Version11, response.RequestMessage!.Version);
    }

    [Fact]
    public async Task First_request_waits_for_the_initial_snapshot_then_takes_the_fast_path()
    {
        await using var backend = await Backend.StartAsync("pod-a");
        await using var services = TestServices.Create(resolver: new FakeEndpointResolver { SimulateInitialSync = true });
        var client = services.Client();
        services.Resolver.Publish(Alpaca, FakeEndpointResolver.Endpoint(backend));

        (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();
        (await client.GetAsync("http://alpaca-prod/", TestContext.Current.CancellationToken)).Dispose();

        Assert.Equal(1, services.Resolver.AsyncCalls);
        Assert.Equal(2, backend.Requests);
    }

    public sealed class AlpacaClient(HttpClient http)
    {
        public Task<string> GetNameAsync() => http.GetStringAsync("/");
    }
}
