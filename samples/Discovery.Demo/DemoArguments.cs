using System.Globalization;

namespace Discovery.Demo;

/// <summary>The demo's command line, parsed by hand: a handful of flags does not justify a parser dependency.</summary>
public sealed record DemoArguments
{
    /// <summary>The text <c>--help</c> prints.</summary>
    public const string Usage = """
        Usage: dotnet run --project samples/Discovery.Demo -- [options]

        With no options the demo starts an embedded Kubernetes API emulator, backend pods on loopback
        addresses, and walks through the story phase by phase (press Enter between phases).

          --duration <seconds>   Bound the whole run; pace each phase to fit. Implies nothing else.
          --non-interactive      Never wait for a key press (also automatic when input is redirected).
          --kubeconfig <path>    Run against a real cluster through this kubeconfig (no emulator): call the
                                 Services of samples/manifests/backends.yaml and report per-pod counts.
          --context <name>       The kubeconfig context to use (with --kubeconfig, or the default kubeconfig).
          --in-cluster           Run against the cluster the demo's pod runs in (its ServiceAccount).
          -h, --help             Show this text.

        Exit code: 0 when every phase behaved, 1 otherwise, 2 for a bad command line.
        """;

    /// <summary>Bounds the whole run; <see langword="null"/> lets the demo choose (interactive pace).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Whether to skip every key press.</summary>
    public bool NonInteractive { get; init; }

    /// <summary>A kubeconfig file: run against that cluster instead of the emulator.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>A kubeconfig context: run against that cluster instead of the emulator.</summary>
    public string? Context { get; init; }

    /// <summary>Run against the cluster the process runs in.</summary>
    public bool InCluster { get; init; }

    /// <summary>Whether <c>--help</c> was asked for.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>Whether the run targets a real cluster rather than the embedded emulator.</summary>
    public bool UsesRealCluster => InCluster || KubeconfigPath is not null || Context is not null;

    /// <summary>Parses the command line.</summary>
    /// <returns><see langword="false"/> with a message when the command line is wrong.</returns>
    public static bool TryParse(IReadOnlyList<string> args, out DemoArguments arguments, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        arguments = new DemoArguments();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "-h" or "--help" or "-?":
                    arguments = arguments with { ShowHelp = true };
                    break;
                case "--non-interactive":
                    arguments = arguments with { NonInteractive = true };
                    break;
                case "--in-cluster":
                    arguments = arguments with { InCluster = true };
                    break;
                case "--duration":
                    if (!TryTakeValue(args, ref i, out var text) || !TryParseSeconds(text, out var duration))
                    {
                        error = "--duration needs a positive number of seconds, for example --duration 30.";
                        return false;
                    }

                    arguments = arguments with { Duration = duration };
                    break;
                case "--kubeconfig":
                    if (!TryTakeValue(args, ref i, out var path))
                    {
                        error = "--kubeconfig needs a file path.";
                        return false;
                    }

                    arguments = arguments with { KubeconfigPath = path };
                    break;
                case "--context":
                    if (!TryTakeValue(args, ref i, out var context))
                    {
                        error = "--context needs a context name.";
                        return false;
                    }

                    arguments = arguments with { Context = context };
                    break;
                default:
                    error = $"Unknown option '{arg}'.";
                    return false;
            }
        }

        if (arguments.InCluster && (arguments.KubeconfigPath is not null || arguments.Context is not null))
        {
            error = "--in-cluster cannot be combined with --kubeconfig or --context.";
            return false;
        }

        return true;
    }

    private static bool TryTakeValue(IReadOnlyList<string> args, ref int index, out string value)
    {
        if (index + 1 < args.Count && !args[index + 1].StartsWith("--", StringComparison.Ordinal))
        {
            value = args[++index];
            return true;
        }

        value = string.Empty;
        return false;
    }

    // Accepts "30", "2.5" and the "10m"/"90s" forms people type for Kubernetes manifests.
    private static bool TryParseSeconds(string text, out TimeSpan duration)
    {
        var multiplier = 1.0;
        if (text.EndsWith('m'))
        {
            multiplier = 60;
            text = text[..^1];
        }
        else if (text.EndsWith('s'))
        {
            text = text[..^1];
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds < 86_400)
        {
            duration = TimeSpan.FromSeconds(seconds * multiplier);
            return true;
        }

        duration = default;
        return false;
    }
}
