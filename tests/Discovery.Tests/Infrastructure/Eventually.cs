using Microsoft.Extensions.Time.Testing;

namespace Discovery.Tests.Infrastructure;

/// <summary>Awaits a condition that async work makes true, bounded in real time, optionally moving fake time forward meanwhile.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static async Task True(Func<bool> condition, string because, FakeTimeProvider? time = null, TimeSpan? advanceStep = null)
    {
        var started = DateTime.UtcNow;
        while (!condition())
        {
            if (DateTime.UtcNow - started > Bound)
            {
                Assert.Fail($"Timed out waiting until {because}.");
            }

            if (time is not null)
            {
                time.Advance(advanceStep ?? TimeSpan.FromMilliseconds(500));
            }

            await Task.Delay(5);
        }
    }
}
