using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Discovery.Benchmarks.Experiments;

/// <summary>Runs the end-to-end experiments by name and writes their tables to BenchmarkDotNet.Artifacts/experiments.</summary>
internal static class ExperimentRunner
{
    private static readonly Dictionary<string, (string Description, Func<ExperimentArgs, Task<Report>> Run)> Experiments = new(StringComparer.OrdinalIgnoreCase)
    {
        ["emulator-watch-throughput"] = ("Issue #2: watch events per second delivered to one stock-KubernetesClient watcher.", EmulatorExperiments.WatchThroughputAsync),
        ["emulator-many-watches"] = ("Issue #2: 1,000 concurrent watches: time to open, memory, one event fanned out to all.", EmulatorExperiments.ManyWatchesAsync),
        ["emulator-large-list"] = ("Issue #2: list of 10,000 EndpointSlices through the stock client.", EmulatorExperiments.LargeListAsync),
        ["core-propagation"] = ("Issue #3: change in the emulator -> new snapshot visible to a reader (p50/p99).", CoreExperiments.PropagationAsync),
        ["core-event-rate"] = ("Issue #3: watch events applied per second by one watcher.", CoreExperiments.EventRateAsync),
        ["core-scale"] = ("Issue #3: N services x 10 endpoints: managed memory and time to full sync.", CoreExperiments.ScaleAsync),
        ["http-throughput"] = ("Issue #4: loopback throughput through discovery vs direct to the pod address.", HttpExperiments.ThroughputAsync),
        ["slow-backend"] = ("Issue #4: 11 backends, one slowed to 2 s, client timeout 1 s: success rate per policy.", HttpExperiments.SlowBackendAsync),
        ["slow-start"] = ("Issue #14: a new pod's share per second over its first slow-start window, with and without slow start.", SlowStartExperiment.RunAsync),
        ["fairness"] = ("Issue #11: shares of equal pods, one with a 150 ms first response, sequential and c=8, P2C vs round-robin.", FairnessExperiment.RunAsync),
        ["grpc"] = ("Issue #12: kubernetes:/// channels: change -> picker, call shares over 4 pods vs one connection, unary call overhead.", GrpcExperiments.RunAsync),
        ["core-memory-breakdown"] = ("Issue #3: per-Service managed memory by layer (typed objects, projections, snapshots).", CoreMemoryBreakdown.RunAsync),
        ["adapter-propagation"] = ("Issue #12: change in the emulator -> visible to MESD resolution and to YARP's destination set, side by side (p50/p99).", AdapterExperiments.PropagationAsync),
        ["emulator-host"] = ("(internal) An emulator in a child process, driven over stdin, for memory and socket isolation.", EmulatorHost.RunAsync),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] == "list")
        {
            foreach (var (name, (description, _)) in Experiments)
            {
                Console.WriteLine($"{name,-28} {description}");
            }

            return 0;
        }

        var names = args[0] == "all"
            ? Experiments.Keys.Where(k => k != "emulator-host").ToArray()
            : args[0].Split(',', StringSplitOptions.RemoveEmptyEntries);
        var parsed = new ExperimentArgs(args[1..]);
        foreach (var name in names)
        {
            if (!Experiments.TryGetValue(name, out var experiment))
            {
                Console.Error.WriteLine($"Unknown experiment '{name}'. Try --experiment list.");
                return 2;
            }

            if (name == "emulator-host")
            {
                await experiment.Run(parsed);
                return 0;
            }

            Console.WriteLine($"## {name}");
            Console.WriteLine(experiment.Description);
            var started = Stopwatch.GetTimestamp();
            var report = await experiment.Run(parsed);
            var text = report.Render(name, experiment.Description, Stopwatch.GetElapsedTime(started));
            Console.WriteLine(text);
            var directory = Path.Combine("BenchmarkDotNet.Artifacts", "experiments");
            Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(Path.Combine(directory, name + ".md"), text);
        }

        return 0;
    }

    public static string Machine()
    {
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        return $"{RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} logical CPUs, load average at end: {load}";
    }
}

/// <summary>Command-line options of an experiment: <c>--name value</c> pairs.</summary>
internal sealed class ExperimentArgs(string[] args)
{
    public int Int(string name, int fallback)
    {
        var index = Array.IndexOf(args, "--" + name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public int[] Ints(string name, params int[] fallback)
    {
        var index = Array.IndexOf(args, "--" + name);
        return index >= 0 && index + 1 < args.Length
            ? [.. args[index + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]
            : fallback;
    }

    public string? String(string name)
    {
        var index = Array.IndexOf(args, "--" + name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}

/// <summary>A markdown table plus notes.</summary>
internal sealed class Report
{
    private readonly List<string[]> _rows = [];
    private readonly List<string> _notes = [];
    private string[] _header = [];

    public Report Columns(params string[] header)
    {
        _header = header;
        return this;
    }

    public void Row(params object?[] cells) => _rows.Add([.. cells.Select(Format)]);

    public void Note(string note) => _notes.Add(note);

    public string Render(string name, string description, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.Append("### ").Append(name).Append('\n').Append(description).Append("\n\n");
        text.Append("| ").AppendJoin(" | ", _header).Append(" |\n");
        text.Append('|').AppendJoin('|', _header.Select(_ => "---")).Append("|\n");
        foreach (var row in _rows)
        {
            text.Append("| ").AppendJoin(" | ", row).Append(" |\n");
        }

        text.Append('\n');
        foreach (var note in _notes)
        {
            text.Append("- ").Append(note).Append('\n');
        }

        text.Append("- Experiment wall time: ").Append(elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)).Append(" s\n");
        text.Append("- Machine: ").Append(ExperimentRunner.Machine()).Append('\n');
        return text.ToString();
    }

    private static string Format(object? cell) => cell switch
    {
        null => "",
        double d => d.ToString(d >= 100 ? "N0" : "0.###", CultureInfo.InvariantCulture),
        long l => l.ToString("N0", CultureInfo.InvariantCulture),
        int i => i.ToString("N0", CultureInfo.InvariantCulture),
        TimeSpan t => t.TotalMilliseconds >= 1000 ? t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s" : t.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        _ => Convert.ToString(cell, CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>Small measuring helpers.</summary>
internal static class Measure
{
    public static long ManagedBytesAfterFullGc()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    public static double Mb(long bytes) => bytes / (1024.0 * 1024.0);

    public static TimeSpan Percentile(List<TimeSpan> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var index = (int)Math.Ceiling((p / 100.0) * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    public static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
