namespace Discovery.Integrations.Tests;

/// <summary>Bounded waits on the real clock for asynchronous propagation (never a fixed sleep).</summary>
internal static class Eventually
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    public static async Task True(Func<Task<bool>> condition, string because)
    {
        var started = DateTime.UtcNow;
        while (!await condition())
        {
            if (DateTime.UtcNow - started > Bound)
            {
                Assert.Fail($"Timed out after {Bound.TotalSeconds} s waiting until {because}.");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public static Task True(Func<bool> condition, string because) => True(() => Task.FromResult(condition()), because);
}
