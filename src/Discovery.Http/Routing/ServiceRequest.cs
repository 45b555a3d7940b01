using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Discovery.Http;

/// <summary>
/// The state of one request to a Service, from the pick to its last attempt: the one value the steps of the handler's pipeline
/// share (route → snapshot → pick → rewrite → send/observe → retry decision), passed by reference to each.
/// </summary>
/// <remarks>
/// A mutable struct, so that the request path allocates nothing for it: pass it by <see langword="ref"/>, never copy it, except
/// into the one async method that awaits a response (which then owns it). It holds no state of the handler's own: concurrent
/// requests share nothing through it. The retry counters are <see cref="ushort"/>s (the options allow at most 100 retries) and the
/// version policy (three values) a byte, so that the struct packs into 80 bytes and the state machine that awaits a response
/// is no larger than before the pipeline existed (<c>AllocationTests</c> checks it).
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal struct ServiceRequest
{
    private Version? _version;
    private byte _versionPolicy;
    private bool _setsHost;
    private ushort _connectRetries;
    private ushort _sendRetries;

    public ServiceRequest(HttpRequestMessage message, Uri originalUri, HostEntry entry, CancellationToken cancellationToken)
    {
        Message = message;
        OriginalUri = originalUri;
        Entry = entry;
        CancellationToken = cancellationToken;
    }

    /// <summary>The request message as the caller wrote it (its URI points at the destination only during a send).</summary>
    public HttpRequestMessage Message { get; }

    /// <summary>The caller's URI, restored once the request is over.</summary>
    public Uri OriginalUri { get; }

    /// <summary>The parsed host, with the caches that make the next request to it cheap.</summary>
    public HostEntry Entry { get; }

    /// <summary>The caller's token: when it ends the wait, the endpoint was not at fault.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The Service the request is for.</summary>
    public readonly ServiceKey Service => Entry.Service;

    /// <summary>The destination set of the current attempt (set by the pick step).</summary>
    public DestinationSet Set { get; set; } = null!;

    /// <summary>The destination of the current attempt (set by the pick step).</summary>
    public DestinationState Destination { get; set; } = null!;

    /// <summary>The activity of the current attempt, while it runs and someone listens.</summary>
    public Activity? Activity { get; set; }

    /// <summary>When the current attempt started: a timestamp of the client's clock.</summary>
    public long Started { get; set; }

    /// <summary>0 for the first attempt, 1 and up for retries on other endpoints.</summary>
    public readonly int Attempt => _connectRetries + _sendRetries;

    /// <summary>Retries so far after connect failures.</summary>
    public readonly int ConnectRetries => _connectRetries;

    /// <summary>Retries so far after failures once the request was sent (errors, timeouts, 502/503/504).</summary>
    public readonly int SendRetries => _sendRetries;

    /// <summary>Whether the request had no Host header of its own, so the rewrite step sets (and the restore removes) one.</summary>
    public readonly bool SetsHost => _setsHost;

    /// <summary>Counts a retry after <paramref name="outcome"/> and returns its number within its kind.</summary>
    public int CountRetry(AttemptOutcome outcome)
        => outcome == AttemptOutcome.ConnectFailure ? ++_connectRetries : ++_sendRetries;

    /// <summary>Remembers what the rewrite step changes on the message, before it first does.</summary>
    public void CaptureOriginal()
    {
        _setsHost = Message.Headers.Host is null;
        _version = Message.Version;
        _versionPolicy = (byte)Message.VersionPolicy;
    }

    /// <summary>Puts the message back as the caller wrote it: URI, Host header and HTTP version.</summary>
    public readonly void Restore()
    {
        var message = Message;
        message.RequestUri = OriginalUri;
        if (_setsHost)
        {
            message.Headers.Host = null;
        }

        message.Version = _version!;
        message.VersionPolicy = (HttpVersionPolicy)_versionPolicy;
    }
}
