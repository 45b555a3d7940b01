using Discovery.EndpointWatch;

// kubectl get endpoints --watch, as Discovery sees them.
if (!WatchArguments.TryParse(args, out var arguments, out var error))
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(WatchArguments.Usage);
    return 2;
}

if (arguments.ShowHelp)
{
    Console.WriteLine(WatchArguments.Usage);
    return 0;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

return await EndpointWatchCommand.RunAsync(arguments, Console.Out, Console.Error, cancellation.Token);
