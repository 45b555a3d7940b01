using System.Runtime.InteropServices;

namespace Discovery.Http;

/// <summary>What a <see cref="ILoadBalancingPolicy"/> knows about the request it picks an endpoint for.</summary>
/// <remarks>A struct passed by reference, so that asking a policy costs no allocation.</remarks>
[StructLayout(LayoutKind.Auto)]
public readonly struct LoadBalancingContext
{
    private readonly SequenceCounter? _sequence;

    /// <summary>Creates a context.</summary>
    /// <param name="request">The request being sent.</param>
    /// <param name="service">The Service the request is for.</param>
    /// <param name="attempt">0 for the first attempt of this send, 1 and up for retries on other endpoints.</param>
    public LoadBalancingContext(HttpRequestMessage request, ServiceKey service, int attempt)
        : this(request, service, attempt, null)
    {
    }

    internal LoadBalancingContext(HttpRequestMessage request, ServiceKey service, int attempt, SequenceCounter? sequence)
    {
        Request = request;
        Service = service;
        Attempt = attempt;
        _sequence = sequence;
    }

    /// <summary>The request being sent (its URI is still the Service URI).</summary>
    public HttpRequestMessage Request { get; }

    /// <summary>The Service the request is for.</summary>
    public ServiceKey Service { get; }

    /// <summary>0 for the first attempt of this send, 1 and up for retries on other endpoints.</summary>
    public int Attempt { get; }

    /// <summary>
    /// Returns the next number of a sequence kept per Service port and shared by every request to it (for rotating policies).
    /// Starts at 0.
    /// </summary>
    public long NextSequence() => _sequence is null ? 0 : _sequence.Next();
}
