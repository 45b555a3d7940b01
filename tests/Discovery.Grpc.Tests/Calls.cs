namespace Discovery.Grpc.Tests;

/// <summary>Helpers that make unary calls and count where they went.</summary>
public static class Calls
{
    public static async Task<Dictionary<string, int>> SpreadAsync(Pods.PodsClient client, int count)
    {
        var spread = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var reply = await client.WhoAsync(new WhoRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: TestContext.Current.CancellationToken);
            spread[reply.Pod] = spread.GetValueOrDefault(reply.Pod) + 1;
        }

        return spread;
    }

    /// <summary>Calls until every pod named has answered at least once (bounded).</summary>
    public static Task<bool> ReachAllAsync(Pods.PodsClient client, params string[] pods)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return Eventually.UntilAsync(async () =>
        {
            foreach (var pod in (await SpreadAsync(client, pods.Length)).Keys)
            {
                seen.Add(pod);
            }

            return pods.All(seen.Contains);
        });
    }
}
