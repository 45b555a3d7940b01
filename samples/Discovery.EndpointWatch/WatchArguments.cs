using System.Globalization;

namespace Discovery.EndpointWatch;

/// <summary>The command line of the endpoint watch tool.</summary>
public sealed record WatchArguments
{
    /// <summary>The text <c>--help</c> prints.</summary>
    public const string Usage = """
        Usage: dotnet run --project samples/Discovery.EndpointWatch -- [<service>] [options]

        Prints a Service's endpoints as Discovery sees them, then one line per change, like
        'kubectl get endpoints <service> --watch'.

          <service>              The Service name (default alpaca-prod with --emulator).
          -n, --namespace <ns>   Its namespace (default: the pod's own namespace, then "default").
          --kubeconfig <path>    The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
          --context <name>       The kubeconfig context.
          --emulator             Start the embedded Kubernetes API emulator with a sample Service and make a few
                                 changes to it, so the tool can be seen working without a cluster.
          --count <n>            Stop after printing n lines (the initial list counts as one); with
                                 --emulator the default is the scripted scenario's 6 lines.
          --duration <seconds>   Stop after this long.
          --interval <seconds>   With --emulator: the pause between staged changes (default 1).
          -h, --help             Show this text.
        """;

    /// <summary>The Service to watch.</summary>
    public string? Service { get; init; }

    /// <summary>The namespace.</summary>
    public string? Namespace { get; init; }

    /// <summary>The kubeconfig file.</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>The kubeconfig context.</summary>
    public string? Context { get; init; }

    /// <summary>Whether to run against the embedded emulator.</summary>
    public bool Emulator { get; init; }

    /// <summary>Stop after this many lines.</summary>
    public int? Count { get; init; }

    /// <summary>Stop after this long.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The pause between staged changes in emulator mode.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether <c>--help</c> was asked for.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>Parses the command line.</summary>
    public static bool TryParse(IReadOnlyList<string> args, out WatchArguments arguments, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        arguments = new WatchArguments();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? value = null;
            var needsValue = arg is "-n" or "--namespace" or "--kubeconfig" or "--context" or "--count" or "--duration" or "--interval";
            if (needsValue)
            {
                if (i + 1 >= args.Count)
                {
                    error = $"{arg} needs a value.";
                    return false;
                }

                value = args[++i];
            }

            switch (arg)
            {
                case "-h" or "--help" or "-?":
                    arguments = arguments with { ShowHelp = true };
                    break;
                case "--emulator":
                    arguments = arguments with { Emulator = true };
                    break;
                case "-n" or "--namespace":
                    arguments = arguments with { Namespace = value };
                    break;
                case "--kubeconfig":
                    arguments = arguments with { KubeconfigPath = value };
                    break;
                case "--context":
                    arguments = arguments with { Context = value };
                    break;
                case "--count":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
                    {
                        error = "--count needs a positive whole number.";
                        return false;
                    }

                    arguments = arguments with { Count = count };
                    break;
                case "--duration" or "--interval":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || seconds > 86_400 || (seconds == 0 && arg == "--duration"))
                    {
                        error = $"{arg} needs a number of seconds.";
                        return false;
                    }

                    arguments = arg == "--duration"
                        ? arguments with { Duration = TimeSpan.FromSeconds(seconds) }
                        : arguments with { Interval = TimeSpan.FromSeconds(seconds) };
                    break;
                default:
                    if (arg.StartsWith('-') || arguments.Service is not null)
                    {
                        error = $"Unknown argument '{arg}'.";
                        return false;
                    }

                    arguments = arguments with { Service = arg };
                    break;
            }
        }

        if (arguments.Service is null && !arguments.Emulator && !arguments.ShowHelp)
        {
            error = "Name the Service to watch, or use --emulator.";
            return false;
        }

        return true;
    }
}
