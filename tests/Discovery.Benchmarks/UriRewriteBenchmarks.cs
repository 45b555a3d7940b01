using BenchmarkDotNet.Attributes;

namespace Discovery.Benchmarks;

/// <summary>The floor under any handler that rewrites a request URI: building the new <see cref="Uri"/>.</summary>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
public class UriRewriteBenchmarks
{
    private readonly Uri _original = new("http://alpaca-prod/api/items?page=2");
    private const string Authority = "10.244.0.11:8080";

    [Benchmark(Baseline = true)]
    public Uri ConcatString() => new(string.Concat("http://", Authority, _original.PathAndQuery));

    [Benchmark]
    public Uri WithUriBuilder() => new UriBuilder(_original) { Host = "10.244.0.11", Port = 8080 }.Uri;
}
