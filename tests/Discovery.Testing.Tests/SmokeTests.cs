namespace Discovery.Testing.Tests;

public class SmokeTests
{
    [Fact]
    public void Assembly_loads() => Assert.Equal("Discovery.Testing", typeof(Discovery.Testing.KubernetesApiEmulatorPlaceholder).Assembly.GetName().Name);
}
