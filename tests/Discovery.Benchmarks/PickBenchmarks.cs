using System.Collections.Immutable;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Discovery.Benchmarks.Experiments;
using Discovery.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Benchmarks;

/// <summary>
/// Issue #4: the cost of one pick per policy at 1, 100 and 10,000 endpoints (goal: flat). Measures the handler's real pick
/// path, <c>ServicePortBalancer.Pick</c>: the cached healthy-candidate view, then the policy.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
public class PickBenchmarks
{
    private readonly HttpRequestMessage _request = new(HttpMethod.Get, "http://alpaca-prod/api");
    private readonly ServiceKey _key = new("default", "alpaca-prod");
    private ServicePortBalancer _balancer = null!;
    private DestinationSet _set = null!;

    [Params(LoadBalancingPolicyNames.PowerOfTwoChoices, LoadBalancingPolicyNames.RoundRobin, LoadBalancingPolicyNames.Random)]
    public string Policy { get; set; } = LoadBalancingPolicyNames.PowerOfTwoChoices;

    [Params(1, 100, 10_000)]
    public int Endpoints { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ImmutableArray<EndpointPort> ports = [new EndpointPort("http", 8080, "TCP", null)];
        var endpoints = Enumerable.Range(0, Endpoints)
            .Select(i => new ServiceEndpoint(EmulatorHost.Address(i), AddressFamily.InterNetwork, ports, isReady: true, isServing: true, isTerminating: false))
            .ToImmutableArray();
        var snapshot = new ServiceEndpointSnapshot(_key, true, null, EndpointSourceKind.EndpointSlices, endpoints, 1, "1", DateTimeOffset.UtcNow);
        var selection = new PortSelection(snapshot, "http", 80, null, [.. endpoints.Select(e => new EndpointTarget(e, 8080))]);
        var options = new DiscoveryHttpClientOptions { LoadBalancingPolicy = Policy };
        var client = new DiscoveryClient(
            "bench",
            options,
            LoadBalancingPolicyResolver.BuiltIn(Policy),
            resolver: null!,
            new ServiceHostParser("default"),
            defaultPortName: null,
            TimeProvider.System,
            NullLogger.Instance,
            new DiscoveryHttpMetrics(null));
        _balancer = new ServicePortBalancer(client, _key, "http");
        _set = _balancer.GetDestinationSet(selection);
        if (Pick() is null)
        {
            throw new InvalidOperationException("No pick.");
        }
    }

    [Benchmark]
    public DestinationState? Pick() => _balancer.Pick(_set, new LoadBalancingContext(_request, _key, 0, _balancer.Sequence), avoid: null, strict: false, System.Diagnostics.Stopwatch.GetTimestamp());
}
