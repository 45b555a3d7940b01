using BenchmarkDotNet.Running;
using Discovery.Benchmarks.Experiments;

// BenchmarkDotNet micro-benchmarks:
//   dotnet run -c Release --project tests/Discovery.Benchmarks -- --filter '*HandlerOverhead*'
// End-to-end experiments (custom runners printing a markdown table; bounded in count and time):
//   dotnet run -c Release --project tests/Discovery.Benchmarks -- --experiment slow-backend
//   dotnet run -c Release --project tests/Discovery.Benchmarks -- --experiment list
if (args.Length >= 1 && args[0] == "--experiment")
{
    return await ExperimentRunner.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
