using System.Globalization;
using System.Text;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>
/// The figures a scenario measured: written to the test output and appended, as a markdown table, to the file named by
/// <c>DISCOVERY_RELIABILITY_REPORT</c> (default <c>reliability-figures-&lt;mode&gt;.md</c> beside the test assembly).
/// </summary>
internal sealed class Figures(string scenario)
{
    private static readonly object s_fileGate = new();
    private readonly List<(string Name, string Value)> _rows = [];
    private readonly DateTime _started = DateTime.UtcNow;

    public static string ReportPath { get; } = Environment.GetEnvironmentVariable("DISCOVERY_RELIABILITY_REPORT") is { Length: > 0 } path
        ? Path.GetFullPath(path)
        : Path.Combine(AppContext.BaseDirectory, $"reliability-figures-{RunMode.Name}.md");

    public Figures Add(string name, object? value)
    {
        var text = value switch
        {
            double d => d.ToString("0.###", CultureInfo.InvariantCulture),
            TimeSpan t => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + " s",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            null => "—",
            _ => value.ToString() ?? "—",
        };
        lock (_rows)
        {
            _rows.Add((name, text));
        }

        return this;
    }

    public static string Megabytes(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    /// <summary>Writes the figures; call once, at the end of the scenario (also when an assertion is about to fail).</summary>
    public void Publish()
    {
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"### {scenario}\n\n");
        builder.Append(CultureInfo.InvariantCulture, $"mode {RunMode.Name}, {Environment.ProcessorCount} cores, load average {LoadAverage()}, scenario wall time {(DateTime.UtcNow - _started).TotalSeconds:0.0} s\n\n");
        builder.Append("| figure | value |\n|---|---|\n");
        lock (_rows)
        {
            foreach (var (name, value) in _rows)
            {
                builder.Append(CultureInfo.InvariantCulture, $"| {name} | {value} |\n");
            }
        }

        builder.Append('\n');
        var text = builder.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        lock (s_fileGate)
        {
            File.AppendAllText(ReportPath, text);
        }
    }

    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
