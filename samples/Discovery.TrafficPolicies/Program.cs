using Discovery.TrafficPolicies;

// Session affinity and internalTrafficPolicy: Local, shown on the embedded emulator with Kestrel pods on 127.0.0.x.
//   dotnet run --project samples/Discovery.TrafficPolicies
var report = await TrafficPolicyScenario.RunAsync(Console.Out, CancellationToken.None);
return report.AllPassed ? 0 : 1;
