namespace Discovery.Testing.Tests;

/// <summary>Starts emulators for tests, bound to the test's cancellation.</summary>
internal static class TestEmulator
{
    public static Task<KubernetesApiEmulator> StartAsync(Action<KubernetesApiEmulatorOptions>? configure = null)
    {
        var options = new KubernetesApiEmulatorOptions();
        configure?.Invoke(options);
        return KubernetesApiEmulator.StartAsync(options, TestContext.Current.CancellationToken);
    }

    /// <summary>A token cancelled when the test is, or after <paramref name="timeout"/> (default 30 s: generous on a loaded machine) so nothing hangs.</summary>
    public static CancellationTokenSource Deadline(TimeSpan? timeout = null)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        return cts;
    }
}
