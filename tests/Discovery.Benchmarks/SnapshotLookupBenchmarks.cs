using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Discovery.Testing;
using k8s;

namespace Discovery.Benchmarks;

/// <summary>
/// Issue #3: <see cref="IServiceEndpointResolver.TryGetSnapshot"/> on the real resolver, synced against the emulator
/// (goal: nanoseconds, 0 B). The baseline is the bare dictionary lookup underneath it.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
public class SnapshotLookupBenchmarks
{
    private readonly ConcurrentDictionary<ServiceKey, object> _dictionary = new();
    private KubernetesApiEmulator _emulator = null!;
    private Kubernetes _client = null!;
    private KubernetesServiceEndpointResolver _resolver = null!;
    private ServiceKey _key;
    private ServiceKey _missing;

    /// <summary>How many other Services the resolver watches besides the one looked up.</summary>
    [Params(0, 100)]
    public int OtherServices { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _emulator = KubernetesApiEmulator.StartAsync().GetAwaiter().GetResult();
        _client = (Kubernetes)_emulator.CreateClient();
        _resolver = new KubernetesServiceEndpointResolver(_client, new KubernetesDiscoveryOptions { Namespace = "default", IdleTimeout = TimeSpan.FromHours(1) });
        _key = new ServiceKey("default", "alpaca-prod");
        _missing = new ServiceKey("default", "not-watched");
        _emulator.ApplyServiceWithEndpoints("default", "alpaca-prod", 8080, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], withEndpoints: false);
        for (var i = 0; i < OtherServices; i++)
        {
            var name = "other-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _emulator.ApplyServiceWithEndpoints("default", name, 8080, ["10.1.0.1"], withEndpoints: false);
            _resolver.GetSnapshotAsync(new ServiceKey("default", name)).AsTask().GetAwaiter().GetResult();
            _dictionary[new ServiceKey("default", name)] = name;
        }

        var snapshot = _resolver.GetSnapshotAsync(_key).AsTask().GetAwaiter().GetResult();
        if (snapshot.UsableEndpoints.Length != 3 || !_resolver.TryGetSnapshot(_key, out _))
        {
            throw new InvalidOperationException("The resolver did not sync: " + snapshot);
        }

        _dictionary[_key] = snapshot;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _resolver.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _client.Dispose();
        _emulator.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "ConcurrentDictionary lookup (floor)")]
    public object? DictionaryFloor() => _dictionary.TryGetValue(_key, out var value) ? value : null;

    [Benchmark(Description = "TryGetSnapshot (synced)")]
    public ServiceEndpointSnapshot? TryGetSnapshot() => _resolver.TryGetSnapshot(_key, out var snapshot) ? snapshot : null;

    [Benchmark(Description = "TryGetSnapshot (not watched)")]
    public bool TryGetSnapshotMiss() => _resolver.TryGetSnapshot(_missing, out _);
}
