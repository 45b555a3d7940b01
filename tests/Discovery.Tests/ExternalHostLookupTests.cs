using Discovery.Internal;
using Discovery.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Discovery.Tests;

/// <summary>
/// <see cref="IServiceEndpointResolver.GetSnapshotIfVisibleAsync"/>: <c>name.namespace</c> hosts that may be external names
/// (<c>example.com</c>) cost one list per negative-cache period and no watcher when they are not a Service the app can see.
/// </summary>
public class ExternalHostLookupTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_host_that_is_not_a_visible_service_costs_one_list_per_period_and_no_watcher()
    {
        using var logs = new TestLogs();
        await using var test = new TestResolver(o => o.NegativeCacheDuration = TimeSpan.FromMinutes(2), loggerFactory: logs.Factory);
        var lists = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        test.Api.ListFault = q =>
        {
            lists.AddOrUpdate(q.Namespace + "/" + q.Resource, 1, (_, n) => n + 1);

            // A Role in the fixtures' namespace only: other namespaces are refused.
            return q.Namespace == Fixtures.Namespace || q.Namespace == "com" ? null : FakeKubernetesApi.Status(403, "Forbidden");
        };
        var example = new ServiceKey("com", "example");       // the namespace may be read, it holds no such Service
        var shop = new ServiceKey("internal", "shop");        // 403

        for (var i = 0; i < 100; i++)
        {
            Assert.Null(await test.Resolver.GetSnapshotIfVisibleAsync(example, Token));
            Assert.Null(await test.Resolver.GetSnapshotIfVisibleAsync(shop, Token));
        }

        Assert.Equal(1, lists["com/Services"]);
        Assert.Equal(1, lists["internal/Services"]);
        Assert.Empty(test.Resolver.GetWatcherStatuses());
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), r => r.Level >= LogLevel.Warning);

        // After the period, one list each again.
        test.Time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await test.Resolver.GetSnapshotIfVisibleAsync(example, Token));
            Assert.Null(await test.Resolver.GetSnapshotIfVisibleAsync(shop, Token));
        }

        Assert.Equal(2, lists["com/Services"]);
        Assert.Equal(2, lists["internal/Services"]);
        Assert.Empty(test.Resolver.GetWatcherStatuses());

        // A Service the app can see is discovered as usual.
        var alpaca = await test.Resolver.GetSnapshotIfVisibleAsync(TestResolver.Key("alpaca-prod"), Token);
        Assert.NotNull(alpaca);
        Assert.NotEmpty(alpaca.UsableEndpoints);
    }

    [Fact]
    public async Task A_pod_selector_name_in_name_namespace_form_is_found_without_a_service()
    {
        await using var test = new TestResolver(o => o.PodSelectors["workers." + Fixtures.Namespace] = "app=worker");
        test.Api.Apply(SourceTests.Pod("worker-a", "10.3.0.1", ready: true));

        var snapshot = await test.Resolver.GetSnapshotIfVisibleAsync(TestResolver.Key("workers"), Token);

        Assert.NotNull(snapshot);
        Assert.Equal(EndpointSourceKind.Pods, snapshot.Source);
        Assert.Equal("10.3.0.1", snapshot.UsableEndpoints.Single().Address);
    }

    [Fact]
    public async Task Concurrent_lookups_of_a_new_host_share_one_list()
    {
        await using var test = new TestResolver();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lists = 0;
        test.Api.ListFault = q =>
        {
            if (q.Namespace == "corp")
            {
                Interlocked.Increment(ref lists);
            }

            return null;
        };
        test.Api.ListAnswerDelay = q => q.Namespace == "corp" ? release.Task : null;

        var lookups = Enumerable.Range(0, 50).Select(_ => test.Resolver.GetSnapshotIfVisibleAsync(new ServiceKey("corp", "api"), Token).AsTask()).ToArray();
        await Eventually.True(() => Volatile.Read(ref lists) >= 1, "the list was sent");
        release.SetResult();
        var answers = await Task.WhenAll(lookups);

        Assert.All(answers, Assert.Null);
        Assert.Equal(1, lists);
    }
}
