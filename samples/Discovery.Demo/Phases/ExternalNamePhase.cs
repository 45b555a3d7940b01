using System.Net;
using Discovery.Demo.Story;

namespace Discovery.Demo.Phases;

/// <summary>
/// Phase 6: an ExternalName Service, a cluster-local alias for a DNS name. Discovery resolves it to the external
/// name; here that is <c>localhost</c>, so the traffic stays on this machine.
/// </summary>
public sealed class ExternalNamePhase : IDemoPhase
{
    /// <summary>The Service name.</summary>
    public const string ServiceName = "weather-api";

    /// <summary>The name the "external" server answers with.</summary>
    public const string ExternalServerName = "weather-saas";

    private static readonly Uri Target = new("http://weather-api/");

    /// <inheritdoc/>
    public string Title => "6. ExternalName Service (alias for localhost)";

    /// <inheritdoc/>
    public async Task<PhaseResult> RunAsync(DemoContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = context.Console;

        // localhost resolves to 127.0.0.1 (and perhaps ::1, which nothing listens on here: the connection falls back).
        var external = await context.Cluster.StartExternalServerAsync(ExternalServerName, IPAddress.Loopback, cancellationToken);
        console.Say($"A Service '{ServiceName}' of type ExternalName → localhost, port {external.Port} ({ExternalServerName}).");
        await context.Cluster.CreateExternalNameServiceAsync("default", ServiceName, "localhost", external.Port, cancellationToken);

        await using var traffic = context.StartTraffic(Target);
        await context.ShowTrafficAsync(context.Pacing.TrafficWindow / 2, cancellationToken, traffic);
        await traffic.StopAsync();

        return PhaseReporting.JudgeSingleTarget(context, Title, traffic.Log.ToList(), ExternalServerName, "the ExternalName");
    }
}
