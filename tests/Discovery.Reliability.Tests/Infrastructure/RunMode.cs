namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>
/// How long scenarios run. <c>short</c> (default, CI): seconds per scenario, with assertions.
/// <c>medium</c> and <c>long</c> (<c>DISCOVERY_RELIABILITY_MODE</c>, or <c>DISCOVERY_RELIABILITY_LONG=1</c>): the
/// durations of issue #6 that produce the figures of docs/reliability.md; the same assertions apply.
/// </summary>
internal static class RunMode
{
    public static string Name { get; } = Resolve();

    public static bool IsShort => Name == "short";

    public static T Pick<T>(T shortValue, T medium, T longValue) => Name switch
    {
        "long" => longValue,
        "medium" => medium,
        _ => shortValue,
    };

    private static string Resolve()
    {
        var mode = Environment.GetEnvironmentVariable("DISCOVERY_RELIABILITY_MODE")?.Trim().ToLowerInvariant();
        if (mode is "short" or "medium" or "long")
        {
            return mode;
        }

        return Environment.GetEnvironmentVariable("DISCOVERY_RELIABILITY_LONG") is "1" or "true" ? "long" : "short";
    }
}
