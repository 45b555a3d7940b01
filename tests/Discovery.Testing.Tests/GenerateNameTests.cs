using Discovery.Testing.Store;
using k8s.Models;

namespace Discovery.Testing.Tests;

/// <summary>
/// The emulator's only random choice, the suffix of a generateName, comes from the object pipeline's randomness seam:
/// with the source fixed, the generated name is known in advance.
/// </summary>
public sealed class GenerateNameTests
{
    [Fact]
    public void A_generated_name_is_the_prefix_plus_five_characters_drawn_from_the_injected_source()
    {
        // The real API server's alphabet (no vowels, no 0, 1 or 3): 27 characters; the script picks the first five in turn.
        var draws = new List<int>();
        var next = 0;
        var pipeline = new ObjectPipeline(TimeProvider.System, allowLoopback: false, randomIndex: n =>
        {
            draws.Add(n);
            return next++;
        });
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { GenerateName = "alpaca-" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 80 }] },
        };

        var created = pipeline.PrepareCreate(ResourceTypes.Services, ObjectPipeline.FromModel(ResourceTypes.Services, service), "demo", "test", 1, keepStatus: false);

        Assert.Equal("alpaca-bcdfg", created["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal([27, 27, 27, 27, 27], draws);
    }
}
