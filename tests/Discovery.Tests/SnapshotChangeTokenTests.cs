using System.Collections.Immutable;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>The snapshot's change token: the push signal the MESD, YARP and gRPC adapters build on.</summary>
public class SnapshotChangeTokenTests
{
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_token_fires_once_a_newer_snapshot_is_current_and_its_callback_sees_that_snapshot()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.Same(first.ChangeToken, first.ChangeToken);
        Assert.False(first.ChangeToken.HasChanged);
        Assert.True(first.ChangeToken.ActiveChangeCallbacks);

        var seenInCallback = new TaskCompletionSource<ServiceEndpointSnapshot?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = first.ChangeToken.RegisterChangeCallback(
            _ => seenInCallback.TrySetResult(test.Resolver.TryGetSnapshot(Alpaca, out var current) ? current : null), null);

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-next", ("10.1.0.62", true)));
        var seen = await seenInCallback.Task.WaitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(first.ChangeToken.HasChanged);
        Assert.True(first.IsSuperseded);
        Assert.NotNull(seen);
        Assert.NotSame(first, seen);
        Assert.Equal(4, seen.UsableEndpoints.Length);
        Assert.False(seen.ChangeToken.HasChanged);
    }

    [Fact]
    public async Task The_token_fires_when_the_watcher_stops_idle_and_when_the_resolver_is_disposed()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var fired = 0;
        using var registration = first.ChangeToken.RegisterChangeCallback(_ => Interlocked.Increment(ref fired), null);

        test.Time.Advance(TimeSpan.FromMinutes(3));
        await Eventually.True(() => Volatile.Read(ref fired) == 1, "the idle stop fires the token");
        Assert.True(first.ChangeToken.HasChanged);

        var second = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        Assert.False(second.ChangeToken.HasChanged);
        await test.Resolver.DisposeAsync();
        Assert.True(second.ChangeToken.HasChanged);
        Assert.Equal(1, Volatile.Read(ref fired));
    }

    [Fact]
    public async Task A_callback_registered_after_the_token_fired_runs_at_once()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-next", ("10.1.0.62", true)));
        await Eventually.True(() => first.IsSuperseded, "the change is published");

        // The token is created lazily, after the snapshot was superseded: it must still report and run as fired.
        Assert.True(first.ChangeToken.HasChanged);
        var ran = false;
        using var registration = first.ChangeToken.RegisterChangeCallback(_ => ran = true, null);
        Assert.True(ran);
    }

    [Fact]
    public async Task A_throwing_callback_neither_stops_the_watcher_nor_the_other_callbacks()
    {
        await using var test = new TestResolver();
        var first = await test.Resolver.GetSnapshotAsync(Alpaca, Token);
        var other = 0;
        using var throwing = first.ChangeToken.RegisterChangeCallback(_ => throw new InvalidOperationException("consumer bug"), null);
        using var counting = first.ChangeToken.RegisterChangeCallback(_ => Volatile.Write(ref other, 1), null);

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-next", ("10.1.0.62", true)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Length == 4, "the change is published");
        // Tokens fire right after the new snapshot is visible, on the publishing thread: the callback may run a moment later.
        await Eventually.True(() => Volatile.Read(ref other) == 1, "the other callback ran");

        test.Api.Apply(Fixtures.Slice("alpaca-prod", "alpaca-prod-third", ("10.1.0.63", true)));
        await Eventually.True(() => test.Resolver.TryGetSnapshot(Alpaca, out var s) && s.UsableEndpoints.Length == 5, "the watcher keeps publishing");
    }

    [Fact]
    public void A_snapshot_built_by_other_code_never_fires()
    {
        var snapshot = new ServiceEndpointSnapshot(Alpaca, true, null, EndpointSourceKind.EndpointSlices, ImmutableArray<ServiceEndpoint>.Empty, 1, null, DateTimeOffset.UnixEpoch);
        Assert.False(snapshot.ChangeToken.HasChanged);
        Assert.False(snapshot.IsSuperseded);
    }

    [Fact]
    public async Task Reading_has_changed_allocates_nothing()
    {
        await using var test = new TestResolver();
        var snapshot = await test.Resolver.GetSnapshotAsync(Alpaca, Token);

        static bool ReadMany(ServiceEndpointSnapshot snapshot)
        {
            var changed = false;
            for (var i = 0; i < 1000; i++)
            {
                changed |= snapshot.ChangeToken.HasChanged;
            }

            return changed;
        }

        // The first call runs the loop through the JIT (tier 0, then on-stack replacement), which may allocate on this thread:
        // a full run at load ~35 once saw such bytes. A real allocation in HasChanged shows in every measured call, so the
        // smallest of three measured calls must be zero.
        Assert.False(ReadMany(snapshot));
        var fewest = long.MaxValue;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Assert.False(ReadMany(snapshot));
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }
}
