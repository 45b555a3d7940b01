using BenchmarkDotNet.Running;

// Run one group with: dotnet run -c Release --project tests/Discovery.Benchmarks -- --filter '*UriRewrite*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
