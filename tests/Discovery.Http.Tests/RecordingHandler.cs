using System.Collections.Concurrent;

namespace Discovery.Http.Tests;

/// <summary>A primary handler stand-in that records what reached it: either answering itself or forwarding to a real sockets handler.</summary>
public sealed class RecordingHandler : DelegatingHandler
{
    private readonly Func<HttpRequestMessage, HttpResponseMessage>? _answer;

    public RecordingHandler(Func<HttpRequestMessage, HttpResponseMessage>? answer = null)
    {
        _answer = answer;
        if (answer is null)
        {
            InnerHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) };
        }
    }

    public ConcurrentQueue<(Uri? Uri, string? Host)> Seen { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Seen.Enqueue((request.RequestUri, request.Headers.Host));
        if (_answer is not null)
        {
            var response = _answer(request);
            response.RequestMessage = request;
            return Task.FromResult(response);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
