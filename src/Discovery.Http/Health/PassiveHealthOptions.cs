using System.ComponentModel.DataAnnotations;

namespace Discovery.Http;

/// <summary>
/// Passive health checking: endpoints are judged by the outcome of real requests and ejected from the
/// load-balancing set for a while when they fail.
/// </summary>
public sealed class PassiveHealthOptions
{
    /// <summary>Whether failing endpoints are ejected. Default <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How many consecutive failures (5xx responses, expiries of <see cref="DiscoveryHttpClientOptions.AttemptTimeout"/>, errors after the
    /// request was sent) eject an endpoint. The caller giving up (its token, <c>HttpClient.Timeout</c>, hedging) is no failure.
    /// A connection failure ejects at once. Default 5.
    /// </summary>
    [Range(1, 1000)]
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>How long the first ejection of an endpoint lasts; each repeat without an intervening success doubles it. Default 10 seconds.</summary>
    public TimeSpan BaseEjectionDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest an ejection lasts. Default 5 minutes.</summary>
    public TimeSpan MaxEjectionDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The largest share of a Service's endpoints that may be ejected at once (0 to 1). Default 0.5.
    /// Further failing endpoints stay in use: ejecting everything would only move the outage elsewhere.
    /// </summary>
    [Range(0.0, 1.0)]
    public double MaxEjectedShare { get; set; } = 0.5;
}
