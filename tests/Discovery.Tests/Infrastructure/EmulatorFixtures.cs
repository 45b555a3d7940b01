using Discovery.Testing;
using k8s;
using k8s.Models;

namespace Discovery.Tests.Infrastructure;

/// <summary>Loads the recorded setup objects into an emulator.</summary>
internal static class EmulatorFixtures
{
    public static void ApplyAll(KubernetesApiEmulator emulator)
    {
        foreach (var item in Fixtures.All())
        {
            Apply(emulator, item);
        }
    }

    public static void Apply(KubernetesApiEmulator emulator, IKubernetesObject<V1ObjectMeta> item)
    {
        switch (item)
        {
            case V1Service service:
                emulator.Apply(service);
                break;
            case V1Endpoints endpoints:
                emulator.Apply(endpoints);
                break;
            case V1EndpointSlice slice:
                emulator.Apply(slice);
                break;
            case V1Pod pod:
                emulator.Apply(pod);
                break;
            default:
                throw new ArgumentException("unsupported kind", nameof(item));
        }
    }
}
