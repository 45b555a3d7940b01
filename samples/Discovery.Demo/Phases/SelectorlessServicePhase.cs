using System.Net;
using Discovery.Demo.Story;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 5: a Service without a selector, whose Endpoints object is written by hand to point at a resource outside
/// the cluster (here a loopback server standing in for a legacy VM). The app calls it by name like any other.
/// </summary>
public sealed class SelectorlessServicePhase : IDemoPhase
{
    /// <summary>The Service name.</summary>
    public const string ServiceName = "legacy-billing";

    /// <summary>The "external" server's name and address.</summary>
    public const string ExternalName = "billing-vm-01";

    private static readonly Uri Target = new("http://legacy-billing/");

    /// <inheritdoc/>
    public string Title => "5. Selectorless Service with hand-made Endpoints";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;

        var external = await context.Cluster.StartExternalServerAsync(ExternalName, IPAddress.Parse("127.0.0.41"), cancellationToken);
        console.Say($"A Service '{ServiceName}' with no selector, and an Endpoints object listing {external.Address}:{external.Port} ({ExternalName}).");
        console.Say("Kubernetes mirrors hand-made Endpoints into an EndpointSlice; Discovery reads either.");
        await context.Cluster.CreateSelectorlessServiceAsync("default", ServiceName, 80, external, cancellationToken);

        await using var traffic = context.StartTraffic(Target);
        await context.ShowTrafficAsync(context.Pacing.TrafficWindow / 2, cancellationToken, traffic);
        await traffic.StopAsync();

        return PhaseReporting.JudgeSingleTarget(context, Title, traffic.Log.ToList(), ExternalName, "hand-made Endpoints");
    }
}
