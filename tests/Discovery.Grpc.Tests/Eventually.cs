namespace Discovery.Grpc.Tests;

/// <summary>Bounded waits on the real clock for asynchronous propagation (never a fixed sleep).</summary>
public static class Eventually
{
    /// <summary>Runs <paramref name="probe"/> until it returns true or <paramref name="bound"/> passes; returns whether it did.</summary>
    public static async Task<bool> TrueAsync(Func<Task<bool>> probe, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (await probe())
            {
                return true;
            }

            await Task.Delay(10);
        }

        return await probe();
    }
}
