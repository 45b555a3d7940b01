using System.Diagnostics;

namespace Discovery.Reliability.Tests;

/// <summary>Scenario 2: a pod's listener closes mid-load while the API still lists it (the window before the endpoint controller notices).</summary>
public sealed class PodDeathTests
{
    [Fact]
    public async Task Idempotent_requests_do_not_fail_when_a_pod_dies_and_the_dead_pod_is_avoided()
    {
        var before = RunMode.Pick(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
        var after = RunMode.Pick(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(60));
        var rate = RunMode.Pick(200.0, 500.0, 500.0);
        var figures = new Figures("2. Pod death mid-load");
        const string service = "poddeath";

        await using var emulator = await Cluster.StartEmulatorAsync();
        await using var pods = await PodPool.StartAsync(subnet: 2, count: 4);
        emulator.ApplyServiceWithEndpoints(Cluster.Namespace, service, pods.Port, pods.Addresses, withEndpoints: false);
        await using var stack = DiscoveryStack.Create(emulator.CreateClient());
        await stack.Resolver.GetSnapshotAsync(Cluster.Key(service), TestContext.Current.CancellationToken);

        var dead = pods.Pods[0];
        long firstFailure = 0;
        long attemptsToDeadAfterFirstFailure = 0;
        long failedAttempts = 0;
        var killedAt = 0L;
        long attemptsToDeadAfterKill = 0;
        long attemptsAfterKill = 0;
        stack.Attempts.OnAttempt = attempt =>
        {
            if (Volatile.Read(ref killedAt) != 0 && attempt.Timestamp > Volatile.Read(ref killedAt))
            {
                Interlocked.Increment(ref attemptsAfterKill);
            }

            if (attempt.Failed)
            {
                Interlocked.Increment(ref failedAttempts);
            }

            if (attempt.Authority != dead.Authority)
            {
                return;
            }

            if (Volatile.Read(ref killedAt) != 0 && attempt.Timestamp > Volatile.Read(ref killedAt))
            {
                Interlocked.Increment(ref attemptsToDeadAfterKill);
            }

            var first = Volatile.Read(ref firstFailure);
            if (first != 0 && attempt.Timestamp > first)
            {
                Interlocked.Increment(ref attemptsToDeadAfterFirstFailure);
            }
            else if (attempt.Failed && first == 0)
            {
                Interlocked.CompareExchange(ref firstFailure, attempt.Timestamp, 0);
            }
        };

        var load = new Load(stack.Client, [(Cluster.UriOf(service), Cluster.Key(service))]);
        using var stopLoad = new CancellationTokenSource();
        var running = load.RunAsync(rate, TimeSpan.FromMinutes(10), stopLoad.Token);
        await Task.Delay(before);
        var deadRequestsBefore = dead.Requests;
        Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
        await dead.KillAsync();
        await Task.Delay(after);
        await stopLoad.CancelAsync();
        await running;

        figures
            .Add("offered load", $"{rate} req/s GET, 4 pods, one killed after {before.TotalSeconds} s, load for {after.TotalSeconds} s more")
            .Add("requests sent / succeeded / failed", $"{load.Sent} / {load.Succeeded} / {load.Failed}")
            .Add("errors", load.ErrorSummary)
            .Add("requests the pod served before it died", deadRequestsBefore)
            .Add("attempts routed to the dead pod after the kill", Interlocked.Read(ref attemptsToDeadAfterKill))
            .Add("attempts routed to the dead pod after its first failure", $"{Interlocked.Read(ref attemptsToDeadAfterFirstFailure)} of {Interlocked.Read(ref attemptsAfterKill)} attempts after the kill")
            .Add("failed attempts (retried on another pod)", Interlocked.Read(ref failedAttempts))
            .Add("requests shed by the load generator", load.Shed)
            .Publish();

        Assert.Equal(0, load.Failed);
        Assert.NotEqual(0, Interlocked.Read(ref firstFailure));

        // Avoided: after its first failure the dead pod is ejected, so only attempts already on their way to it (picked
        // before the failure was recorded) may still reach it: a small share of the traffic. Without ejection a pod that
        // fails fast has no outstanding requests and power of two choices keeps picking it: about a quarter or more.
        var attemptsAfter = Interlocked.Read(ref attemptsAfterKill);
        var toDead = Interlocked.Read(ref attemptsToDeadAfterFirstFailure);
        Assert.True(attemptsAfter >= 100, $"too few attempts after the kill to judge ({attemptsAfter})");
        Assert.True(toDead * 20 <= attemptsAfter, $"the dead pod was not avoided: {toDead} of {attemptsAfter} attempts after the kill went to it after its first failure");
    }
}
