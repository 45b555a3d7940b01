using System.Globalization;

namespace Discovery.Demo.Story;

/// <summary>The story's narrator: headings, narration, per-pod bars, tables, and the pause between phases.</summary>
public sealed class DemoConsole
{
    private readonly TextWriter _out;
    private readonly TextReader? _keys;

    /// <summary>Creates a narrator.</summary>
    /// <param name="output">Where the story is written.</param>
    /// <param name="keys">Where key presses come from between phases; <see langword="null"/> never waits.</param>
    public DemoConsole(TextWriter output, TextReader? keys)
    {
        _out = output;
        _keys = keys;
    }

    /// <summary>Writes a phase heading.</summary>
    public void Heading(string title)
    {
        _out.WriteLine();
        _out.WriteLine(title);
        _out.WriteLine(new string('─', Math.Min(title.Length, 100)));
    }

    /// <summary>Writes one line of narration.</summary>
    public void Say(string text) => _out.WriteLine("  " + text);

    /// <summary>Writes an empty line.</summary>
    public void Blank() => _out.WriteLine();

    /// <summary>Writes a line that reports a measurement or an outcome.</summary>
    public void Report(bool good, string text) => _out.WriteLine((good ? "  ✔ " : "  ✘ ") + text);

    /// <summary>Writes one bar per pod, proportional to its share of <paramref name="counts"/>.</summary>
    public void Bars(IReadOnlyList<(string Pod, int Count)> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var total = Math.Max(1, counts.Sum(c => c.Count));
        var width = counts.Count == 0 ? 0 : counts.Max(c => c.Pod.Length);
        foreach (var (pod, count) in counts)
        {
            var share = (double)count / total;
            var bar = new string('█', (int)Math.Round(share * 40));
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {pod.PadRight(width)}  {count,6}  {share,4:P0}  {bar}"));
        }
    }

    /// <summary>Writes a table with a header row.</summary>
    public void Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        _out.WriteLine("  " + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows)
        {
            _out.WriteLine("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>In interactive mode, waits for Enter before the next step; otherwise returns at once.</summary>
    public async Task PauseAsync(string next, CancellationToken cancellationToken)
    {
        if (_keys is null)
        {
            return;
        }

        _out.WriteLine();
        _out.Write($"  Press Enter for {next} … ");
        await _keys.ReadLineAsync(cancellationToken);
    }
}
