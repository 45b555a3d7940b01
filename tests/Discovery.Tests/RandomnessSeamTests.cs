using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>
/// Every random choice of the core comes from the resolver's randomness seam (the <c>random</c> source a test can fix), never
/// from <see cref="Random.Shared"/> directly: with the source fixed, the jitter of each watch's timeoutSeconds is exact.
/// </summary>
public class RandomnessSeamTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // timeoutSeconds = WatchTimeout × (1 − 0.2 × r), rounded down: 60 s gives 60 at r = 0, 54 at r = 0.5, 48 at r = 0.999.
    [Theory]
    [InlineData(0.0, 60)]
    [InlineData(0.5, 54)]
    [InlineData(0.999, 48)]
    public async Task The_watch_timeout_jitter_comes_from_the_injected_random_source(double random, int expectedTimeoutSeconds)
    {
        await using var test = new TestResolver(o => o.WatchTimeout = TimeSpan.FromSeconds(60), random: () => random);
        await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        await Eventually.True(() => test.Api.ActiveWatchCount == 2, "the Service and EndpointSlice watches are open");

        var watches = test.Api.WatchHistory.ToArray();
        Assert.True(watches.Length >= 2, $"{watches.Length} watches were opened");
        Assert.All(watches, w => Assert.Equal(expectedTimeoutSeconds, w.TimeoutSeconds));
    }
}
