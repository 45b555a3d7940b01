using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Discovery.Benchmarks;

/// <summary>
/// The job every micro-benchmark here uses: one launch, 5 warm-up and 15 measured iterations. Enough for a mean with a
/// usable error bar while keeping the whole suite to a few minutes on the 2-core machine. Set <c>BENCH_DRY=1</c> to validate
/// the benchmarks with BenchmarkDotNet's Dry job instead (one iteration each, numbers meaningless).
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Environment.GetEnvironmentVariable("BENCH_DRY") == "1"
            ? Job.Dry.WithId("Dry")
            : Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15).WithId("Bench"));

        // BenchmarkDotNet rebuilds the project tree for its host process; on a busy 2-core machine that exceeds the 2-minute default.
        WithBuildTimeout(TimeSpan.FromMinutes(10));
    }
}
