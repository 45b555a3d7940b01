namespace Discovery.Testing;

/// <summary>Placeholder until the emulator lands.</summary>
public static class KubernetesApiEmulatorPlaceholder
{
}
