using System.Collections.Immutable;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Discovery.Benchmarks.Experiments;
using Discovery.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Discovery.Benchmarks;

/// <summary>
/// Issue #14: the cost of one pick with <c>sessionAffinity: ClientIP</c> against the same pick without it, in one run. Measures
/// the handler's real pick path, <c>ServicePortBalancer.Pick</c>, with the default policy over 100 endpoints.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
public class AffinityPickBenchmarks
{
    private readonly HttpRequestMessage _request = new(HttpMethod.Get, "http://alpaca-prod/api");
    private readonly ServiceKey _key = new("default", "alpaca-prod");
    private ServicePortBalancer _plain = null!;
    private DestinationSet _plainSet = null!;
    private ServicePortBalancer _sticky = null!;
    private DestinationSet _stickySet = null!;

    [Params(LoadBalancingPolicyNames.PowerOfTwoChoices, LoadBalancingPolicyNames.RoundRobin)]
    public string Policy { get; set; } = LoadBalancingPolicyNames.PowerOfTwoChoices;

    [GlobalSetup]
    public void Setup()
    {
        (_plain, _plainSet) = Create(affinity: null);
        (_sticky, _stickySet) = Create(affinity: TimeSpan.FromHours(3));
        if (WithoutAffinity() is null || WithAffinity() is null || !ReferenceEquals(WithAffinity(), WithAffinity()))
        {
            throw new InvalidOperationException("No pick, or the sticky pick does not stick.");
        }
    }

    [Benchmark(Baseline = true)]
    public DestinationState? WithoutAffinity() => _plain.Pick(_plainSet, new LoadBalancingContext(_request, _key, 0, _plain.Sequence), avoid: null, strict: false, System.Diagnostics.Stopwatch.GetTimestamp());

    [Benchmark]
    public DestinationState? WithAffinity() => _sticky.Pick(_stickySet, new LoadBalancingContext(_request, _key, 0, _sticky.Sequence), avoid: null, strict: false, System.Diagnostics.Stopwatch.GetTimestamp());

    private (ServicePortBalancer, DestinationSet) Create(TimeSpan? affinity)
    {
        ImmutableArray<EndpointPort> ports = [new EndpointPort("http", 8080, "TCP", null)];
        var endpoints = Enumerable.Range(0, 100)
            .Select(i => new ServiceEndpoint(EmulatorHost.Address(i), AddressFamily.InterNetwork, ports, isReady: true, isServing: true, isTerminating: false))
            .ToImmutableArray();
        var info = new KubernetesServiceInfo("ClusterIP", "10.96.0.1", true, null, [new ServicePortInfo("http", 80, "8080", "TCP", null, null)], [], "1")
        {
            SessionAffinityTimeout = affinity,
        };
        var snapshot = new ServiceEndpointSnapshot(_key, true, info, EndpointSourceKind.EndpointSlices, endpoints, 1, "1", DateTimeOffset.UtcNow);
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
        var balancer = new ServicePortBalancer(client, _key, "http");
        return (balancer, balancer.GetDestinationSet(selection));
    }
}
