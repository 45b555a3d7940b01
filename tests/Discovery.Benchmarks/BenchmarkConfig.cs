using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;

namespace Discovery.Benchmarks;

/// <summary>
/// The job every micro-benchmark here uses: one launch, 5 warm-up and 15 measured iterations. Enough for a mean with a
/// usable error bar while keeping the whole suite to a few minutes on the 2-core machine.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15).WithId("Bench"));
        AddExporter(MarkdownExporter.GitHub);
    }
}
