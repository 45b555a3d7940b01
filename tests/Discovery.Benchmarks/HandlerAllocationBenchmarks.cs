using BenchmarkDotNet.Attributes;

namespace Discovery.Benchmarks;

/// <summary>
/// Where the discovery handler's per-request allocations come from: each step it performs on a request, done on a fresh
/// <see cref="HttpRequestMessage"/>, against creating the request alone (the baseline). Mirrors the handler's rewrite step
/// (<c>RequestRewriter</c>) and its tried-endpoints lookup; subtract the baseline to get each step's cost. The handler now caches the
/// rewritten <see cref="Uri"/> per destination (reused while the request URI repeats) and keeps tried endpoints in a weak
/// table rather than reading <see cref="HttpRequestMessage.Options"/>: those rows show what that saves.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BenchConfig))]
public class HandlerAllocationBenchmarks
{
    private static readonly UriCreationOptions RewrittenUriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };
    private static readonly HttpRequestOptionsKey<object> Key = new("Discovery.TriedEndpoints");
    private readonly Uri _serviceUri = new("http://alpaca-prod/api/items?page=2");
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<HttpRequestMessage, object> _failed = new();

    [Benchmark(Baseline = true, Description = "new HttpRequestMessage (baseline)")]
    public HttpRequestMessage Request() => new(HttpMethod.Get, _serviceUri);

    [Benchmark(Description = "+ request.Options.TryGetValue (the handler no longer does this)")]
    public HttpRequestMessage Options()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _serviceUri);
        request.Options.TryGetValue(Key, out _);
        return request;
    }

    [Benchmark(Description = "+ ConditionalWeakTable lookup (tried endpoints)")]
    public HttpRequestMessage WeakTable()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _serviceUri);
        _failed.TryGetValue(request, out _);
        return request;
    }

    [Benchmark(Description = "+ Headers.Host set and reset")]
    public HttpRequestMessage HostHeader()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _serviceUri);
        request.Headers.Host = "alpaca-prod";
        request.Headers.Host = null;
        return request;
    }

    [Benchmark(Description = "+ rewritten Uri (when the per-destination rewrite cache misses)")]
    public HttpRequestMessage RewriteUri()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _serviceUri);
        request.RequestUri = Rewrite(_serviceUri, "10.0.0.1:8080");
        return request;
    }

    [Benchmark(Description = "+ rewritten Uri, then .Host read (as SocketsHttpHandler does)")]
    public HttpRequestMessage RewriteUriAndRead()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _serviceUri);
        var uri = Rewrite(_serviceUri, "10.0.0.1:8080");
        request.RequestUri = uri;
        _ = uri.IdnHost;
        _ = uri.PathAndQuery;
        return request;
    }

    private static Uri Rewrite(Uri original, string authority)
    {
        var absolute = original.AbsoluteUri;
        var scheme = original.Scheme;
        var pathStart = absolute.IndexOf('/', scheme.Length + 3);
        var pathAndQuery = pathStart < 0 ? "/".AsSpan() : absolute.AsSpan(pathStart);
        return new Uri(string.Concat(scheme.AsSpan(), "://".AsSpan(), authority.AsSpan(), pathAndQuery), RewrittenUriOptions);
    }
}
