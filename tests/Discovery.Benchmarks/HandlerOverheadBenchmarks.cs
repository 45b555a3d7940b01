using BenchmarkDotNet.Attributes;
using Discovery.Testing;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Discovery.Benchmarks;

/// <summary>
/// Issue #4: the per-request cost of the discovery handler, side by side in one run. Every client is an IHttpClientFactory
/// client (handler lifetime infinite) whose primary handler returns one cached 200 response, so only the handler pipeline is measured:
/// <list type="bullet">
/// <item>baseline: a plain client sending to a pod address;</item>
/// <item>ours: <c>AddKubernetesDiscovery()</c>, the real <see cref="KubernetesServiceEndpointResolver"/> synced against the emulator
/// (three endpoints), the real <c>DiscoveryHttpHandler</c> with the default policy;</item>
/// <item>Microsoft.Extensions.ServiceDiscovery 10.11.0: <c>AddServiceDiscovery()</c> with configuration endpoints
/// <c>Services:alpaca-prod:http:0..2</c> (the same three), <c>AddServiceDiscovery()</c> on the client.</item>
/// </list>
/// Goal: ours at most +150 ns and +250 B per request over the baseline.
/// </summary>
/// <remarks>
/// Two categories: requests with no header (the bare minimum), and requests carrying one header (<c>Accept</c>), as most real
/// requests do; setting the Host header costs less when the request already has a header collection.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class HandlerOverheadBenchmarks
{
    private static readonly string[] Pods = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
    private readonly Uri _podUri = new("http://10.0.0.1:8080/api/items?page=2");
    private readonly Uri _serviceUri = new("http://alpaca-prod/api/items?page=2");
    private KubernetesApiEmulator _emulator = null!;
    private ServiceProvider _plainProvider = null!;
    private ServiceProvider _oursProvider = null!;
    private ServiceProvider _microsoftProvider = null!;
    private ServiceProvider _floorProvider = null!;
    private HttpClient _plain = null!;
    private HttpClient _ours = null!;
    private HttpClient _microsoft = null!;
    private HttpClient _floor = null!;
    private CachedResponseHandler _oursTerminal = null!;
    private CachedResponseHandler _microsoftTerminal = null!;
    private CachedResponseHandler _floorTerminal = null!;

    [GlobalSetup]
    public void Setup()
    {
        _emulator = KubernetesApiEmulator.StartAsync().GetAwaiter().GetResult();
        _emulator.ApplyServiceWithEndpoints("default", "alpaca-prod", 8080, Pods, withEndpoints: false);

        (_plainProvider, _plain, _) = Build(services => services.AddHttpClient("bench"));
        (_oursProvider, _ours, _oursTerminal) = Build(services =>
        {
            services.AddSingleton<IKubernetes>(_emulator.CreateClient());
            services.AddKubernetesDiscovery(o => o.Namespace = "default");
            return services.AddHttpClient("bench");
        });
        (_microsoftProvider, _microsoft, _microsoftTerminal) = Build(
            services =>
            {
                services.AddServiceDiscovery();
                return services.AddHttpClient("bench").AddServiceDiscovery();
            },
            new Dictionary<string, string?>
            {
                ["Services:alpaca-prod:http:0"] = "10.0.0.1:8080",
                ["Services:alpaca-prod:http:1"] = "10.0.0.2:8080",
                ["Services:alpaca-prod:http:2"] = "10.0.0.3:8080",
            });

        (_floorProvider, _floor, _floorTerminal) = Build(services => services.AddHttpClient("bench").AddHttpMessageHandler(() => new RewriteOnlyHandler(new Uri("http://10.0.0.1:8080/api/items?page=2"))));

        // Sync the resolver and warm every path; check that the requests really went where they should.
        _oursProvider.GetRequiredService<IServiceEndpointResolver>().GetSnapshotAsync(new ServiceKey("default", "alpaca-prod")).AsTask().GetAwaiter().GetResult();
        for (var i = 0; i < 10; i++)
        {
            Plain().GetAwaiter().GetResult();
            Ours().GetAwaiter().GetResult();
            MicrosoftServiceDiscovery().GetAwaiter().GetResult();
            Floor().GetAwaiter().GetResult();
        }

        Check(_oursTerminal, "ours");
        Check(_microsoftTerminal, "Microsoft.Extensions.ServiceDiscovery");
        Check(_floorTerminal, "floor");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plainProvider.Dispose();
        _oursProvider.Dispose();
        _microsoftProvider.Dispose();
        _floorProvider.Dispose();
        _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "plain client to the pod address")]
    [BenchmarkCategory("no header")]
    public Task<HttpResponseMessage> Plain() => SendAsync(_plain, _podUri, withHeader: false);

    [Benchmark(Description = "Discovery (AddKubernetesDiscovery)")]
    [BenchmarkCategory("no header")]
    public Task<HttpResponseMessage> Ours() => SendAsync(_ours, _serviceUri, withHeader: false);

    [Benchmark(Description = "Microsoft.Extensions.ServiceDiscovery 10.11.0")]
    [BenchmarkCategory("no header")]
    public Task<HttpResponseMessage> MicrosoftServiceDiscovery() => SendAsync(_microsoft, _serviceUri, withHeader: false);

    [Benchmark(Description = "floor: fixed rewrite + Host header only")]
    [BenchmarkCategory("no header")]
    public Task<HttpResponseMessage> Floor() => SendAsync(_floor, _serviceUri, withHeader: false);

    [Benchmark(Baseline = true, Description = "plain client to the pod address")]
    [BenchmarkCategory("Accept header")]
    public Task<HttpResponseMessage> PlainWithHeader() => SendAsync(_plain, _podUri, withHeader: true);

    [Benchmark(Description = "Discovery (AddKubernetesDiscovery)")]
    [BenchmarkCategory("Accept header")]
    public Task<HttpResponseMessage> OursWithHeader() => SendAsync(_ours, _serviceUri, withHeader: true);

    [Benchmark(Description = "Microsoft.Extensions.ServiceDiscovery 10.11.0")]
    [BenchmarkCategory("Accept header")]
    public Task<HttpResponseMessage> MicrosoftServiceDiscoveryWithHeader() => SendAsync(_microsoft, _serviceUri, withHeader: true);

    [Benchmark(Description = "floor: fixed rewrite + Host header only")]
    [BenchmarkCategory("Accept header")]
    public Task<HttpResponseMessage> FloorWithHeader() => SendAsync(_floor, _serviceUri, withHeader: true);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri uri, bool withHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (withHeader)
        {
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
    }

    private static void Check(CachedResponseHandler terminal, string name)
    {
        if (terminal.LastUri is not { } uri || !Pods.Contains(uri.Host) || uri.Port != 8080 || uri.PathAndQuery != "/api/items?page=2")
        {
            throw new InvalidOperationException($"{name}: the terminal handler saw {terminal.LastUri}, not a pod address.");
        }
    }

    private static (ServiceProvider, HttpClient, CachedResponseHandler) Build(Func<IServiceCollection, IHttpClientBuilder> configure, Dictionary<string, string?>? configuration = null)
    {
        var terminal = new CachedResponseHandler();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration ?? []).Build());
        configure(services)
            .ConfigurePrimaryHttpMessageHandler(() => terminal)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<IHttpClientFactory>().CreateClient("bench"), terminal);
    }

    /// <summary>
    /// The least any handler that sends a Service's requests to a pod must do: point the request at the pod (one Uri built once,
    /// no lookup, no pick, no bookkeeping), keep the original host in the Host header, and restore both afterwards.
    /// </summary>
    private sealed class RewriteOnlyHandler(Uri pod) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var original = request.RequestUri!;
            request.RequestUri = pod;
            request.Headers.Host = original.Host;
            var sent = base.SendAsync(request, cancellationToken);
            if (sent.IsCompleted)
            {
                // As the discovery handler does: no state machine when the response is already there.
                Restore(request, original);
                return sent;
            }

            return CompleteAsync(sent, request, original);
        }

        private static async Task<HttpResponseMessage> CompleteAsync(Task<HttpResponseMessage> sent, HttpRequestMessage request, Uri original)
        {
            try
            {
                return await sent;
            }
            finally
            {
                Restore(request, original);
            }
        }

        private static void Restore(HttpRequestMessage request, Uri original)
        {
            request.RequestUri = original;
            request.Headers.Host = null;
        }
    }

    /// <summary>A terminal handler that answers every request with the same 200 response, allocating nothing.</summary>
    private sealed class CachedResponseHandler : HttpMessageHandler
    {
        private readonly Task<HttpResponseMessage> _response = Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));

        public Uri? LastUri { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastUri = request.RequestUri;
            return _response;
        }
    }
}
