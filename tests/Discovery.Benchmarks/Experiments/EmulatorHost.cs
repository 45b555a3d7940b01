using System.Diagnostics;
using System.Globalization;
using Discovery.Testing;

namespace Discovery.Benchmarks.Experiments;

/// <summary>
/// Emulator helpers, and an emulator run in a child process (<c>--experiment emulator-host</c>) driven by one-line commands on
/// stdin, so that the client's memory and sockets can be measured apart from the server's.
/// </summary>
internal static class EmulatorHost
{
    public const string Namespace = "bench";

    public static string ServiceName(int i) => "svc-" + i.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>A unique 10.x.y.z address for endpoint <paramref name="index"/>.</summary>
    public static string Address(int index) => $"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}";

    /// <summary>Creates <paramref name="services"/> Services, each with one EndpointSlice of <paramref name="endpoints"/> ready endpoints.</summary>
    public static void Populate(KubernetesApiEmulator emulator, int services, int endpoints, int port = 8080)
    {
        for (var i = 0; i < services; i++)
        {
            emulator.ApplyServiceWithEndpoints(Namespace, ServiceName(i), port, Enumerable.Range(i * endpoints, endpoints).Select(Address), withEndpoints: false);
        }
    }

    public static async Task<Report> RunAsync(ExperimentArgs args)
    {
        await using var emulator = await KubernetesApiEmulator.StartAsync(new KubernetesApiEmulatorOptions { RetainedEvents = args.Int("retained", 1000) });
        Console.WriteLine("READY " + emulator.BaseAddress);
        while (Console.ReadLine() is { } line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            try
            {
                switch (parts[0])
                {
                    case "populate":
                        var started = Stopwatch.GetTimestamp();
                        Populate(emulator, int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
                        Console.WriteLine("OK " + Stopwatch.GetElapsedTime(started).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture));
                        break;
                    case "mem":
                        var managed = Measure.ManagedBytesAfterFullGc();
                        using (var process = Process.GetCurrentProcess())
                        {
                            Console.WriteLine($"OK {managed} {process.WorkingSet64}");
                        }

                        break;
                    case "watches":
                        Console.WriteLine("OK " + emulator.OpenWatchCount.ToString(CultureInfo.InvariantCulture));
                        break;
                    case "wait-watches":
                        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
                        {
                            await emulator.WaitForOpenWatchesAsync(int.Parse(parts[1], CultureInfo.InvariantCulture), cts.Token);
                        }

                        Console.WriteLine("OK " + emulator.OpenWatchCount.ToString(CultureInfo.InvariantCulture));
                        break;
                    case "set-ready":
                        // set-ready <service> <address> <true|false>
                        emulator.SetEndpointConditions(Namespace, parts[1] + "-emulated", parts[2], bool.Parse(parts[3]));
                        Console.WriteLine("OK " + emulator.CurrentResourceVersion.ToString(CultureInfo.InvariantCulture));
                        break;
                    case "quit":
                        Console.WriteLine("OK");
                        return new Report();
                    default:
                        Console.WriteLine("ERR unknown command " + parts[0]);
                        break;
                }
            }
            catch (Exception e)
            {
                Console.WriteLine("ERR " + e.GetType().Name + ": " + e.Message.ReplaceLineEndings(" "));
            }
        }

        return new Report();
    }
}

/// <summary>The parent's handle on an <see cref="EmulatorHost"/> child process.</summary>
internal sealed class ChildEmulator : IAsyncDisposable
{
    private readonly Process _process;

    private ChildEmulator(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<ChildEmulator> StartAsync()
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(ChildEmulator).Assembly.Location);
        }

        info.ArgumentList.Add("--experiment");
        info.ArgumentList.Add("emulator-host");
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the emulator host.");
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                return new ChildEmulator(process, new Uri(line[6..]));
            }
        }

        throw new InvalidOperationException("The emulator host ended before it was ready.");
    }

    public k8s.Kubernetes CreateClient() => new(new k8s.KubernetesClientConfiguration { Host = BaseAddress.ToString().TrimEnd('/'), Namespace = "default" });

    public async Task<string[]> SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        var line = await _process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("The emulator host ended.");
        if (!line.StartsWith("OK", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{command}' failed: {line}");
        }

        return line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
    }

    public async Task<(long Managed, long WorkingSet)> MemoryAsync()
    {
        var parts = await SendAsync("mem");
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await SendAsync("quit");
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or IOException)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
