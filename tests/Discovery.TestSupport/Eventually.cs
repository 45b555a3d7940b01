using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Discovery.TestSupport;

/// <summary>
/// Bounded waits on the real clock for asynchronous propagation (a watch event reaching a snapshot, a consumer seeing
/// it): polls a condition every 10 ms, never a fixed sleep. The default bound is generous, for a loaded 2-core machine:
/// a passing test waits only as long as the propagation takes; only a failing one waits the whole bound.
/// </summary>
public static class Eventually
{
    /// <summary>How long a wait lasts unless a test gives its own bound.</summary>
    public static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    // With fake time: the real-time pause between steps, so that fake time runs at advanceStep per 5 ms.
    private static readonly TimeSpan FakeTimePollInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>Waits until <paramref name="condition"/> holds; fails the test, saying what it waited for, when the bound passes first.</summary>
    public static async Task True(Func<Task<bool>> condition, string because, TimeSpan? bound = null)
    {
        var limit = bound ?? DefaultBound;
        if (!await UntilAsync(condition, limit))
        {
            Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting until {because}.");
        }
    }

    /// <inheritdoc cref="True(Func{Task{bool}}, string, TimeSpan?)"/>
    public static Task True(Func<bool> condition, string because, TimeSpan? bound = null)
        => True(() => Task.FromResult(condition()), because, bound);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, moving <paramref name="time"/> forward by <paramref name="advanceStep"/>
    /// (500 ms unless told) between polls, for work driven by timers on fake time; fails the test when the real-time
    /// bound passes first.
    /// </summary>
    public static async Task True(Func<bool> condition, string because, FakeTimeProvider time, TimeSpan? advanceStep = null, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(time);
        var limit = bound ?? DefaultBound;
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting until {because}.");
            }

            time.Advance(advanceStep ?? TimeSpan.FromMilliseconds(500));
            await Task.Delay(FakeTimePollInterval, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds or <paramref name="bound"/> passes, then asks once more; returns
    /// whether it held. For tests that assert on the outcome themselves, or measure how long it took.
    /// </summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = bound ?? DefaultBound;
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < limit)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(PollInterval, TestContext.Current.CancellationToken);
        }

        return await condition();
    }

    /// <inheritdoc cref="UntilAsync(Func{Task{bool}}, TimeSpan?)"/>
    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan? bound = null)
        => UntilAsync(() => Task.FromResult(condition()), bound);
}
