using System.Diagnostics;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Discovery.EndpointWatch;

/// <summary>
/// The tool itself, on Discovery's public subscription API: <see cref="IServiceEndpointResolver.WatchAsync"/> yields
/// the current snapshot, then one per change; each becomes a line of the table.
/// </summary>
public static class EndpointWatchCommand
{
    private const string SampleService = "alpaca-prod";

    /// <summary>Runs the tool until the count or duration is reached, the emulator scenario ends, or cancellation.</summary>
    /// <returns>The exit code: 0 on success, 1 when the watch failed.</returns>
    public static async Task<int> RunAsync(WatchArguments arguments, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (arguments.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        var serviceName = (arguments.Service ?? SampleService).ToLowerInvariant();
        var @namespace = arguments.Namespace ?? (arguments.Emulator ? "default" : DefaultNamespace());
        var service = new ServiceKey(@namespace, serviceName);

        await using var scenario = arguments.Emulator ? await EmulatorScenario.StartAsync(@namespace, serviceName, stop.Token) : null;
        using var host = BuildHost(arguments, scenario?.CreateClient(), @namespace);
        await host.StartAsync(stop.Token);
        var resolver = host.Services.GetRequiredService<IServiceEndpointResolver>();

        // In emulator mode the scripted changes run beside the watch; unless --count says otherwise, the tool stops once
        // all are shown (--duration still caps the run).
        var count = arguments.Count ?? (arguments.Emulator ? EmulatorScenario.LineCount : int.MaxValue);
        var changes = scenario?.PlayAsync(arguments.Interval, stop.Token) ?? Task.CompletedTask;

        var table = new EndpointTable(serviceName);
        var started = Stopwatch.GetTimestamp();
        var printed = 0;
        var exitCode = 0;
        await output.WriteLineAsync(table.Header);
        try
        {
            await foreach (var snapshot in resolver.WatchAsync(service, stop.Token))
            {
                if (!table.ShowsChange(snapshot))
                {
                    continue;
                }

                await output.WriteLineAsync(table.Format(snapshot, Stopwatch.GetElapsedTime(started)));
                await output.FlushAsync(stop.Token);
                scenario?.OnPrinted(snapshot);
                if (++printed >= count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The duration ran out, or Ctrl+C: a normal end.
        }
        catch (DiscoveryException ex)
        {
            await errors.WriteLineAsync(ex.Message);
            exitCode = 1;
        }

        await stop.CancelAsync();
        try
        {
            await changes;
        }
        catch (OperationCanceledException)
        {
            // Stopped before the script finished: only a problem if nothing was printed, which is reported above.
        }
        catch (TimeoutException ex)
        {
            await errors.WriteLineAsync(ex.Message);
            exitCode = 1;
        }

        await host.StopAsync(CancellationToken.None);
        return printed == 0 ? 1 : exitCode;
    }

    private static IHost BuildHost(WatchArguments arguments, IKubernetes? client, string @namespace)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.ClearProviders();

        // The table goes to stdout; the library's warnings (reconnects, fallbacks) go to stderr.
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (client is not null)
        {
            builder.Services.AddSingleton(client);
        }

        builder.Services.AddKubernetesEndpointResolver(options =>
        {
            options.Namespace = @namespace;
            options.KubeconfigPath = arguments.KubeconfigPath;
            options.KubeconfigContext = arguments.Context;
        });
        return builder.Build();
    }

    // The same order Discovery applies to short names: the pod's own namespace, then "default".
    private static string DefaultNamespace()
    {
        const string ServiceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
        return File.Exists(ServiceAccountNamespace) ? File.ReadAllText(ServiceAccountNamespace).Trim() : "default";
    }
}
