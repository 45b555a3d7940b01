using System.Net;
using System.Net.Sockets;

namespace Discovery.Benchmarks.Experiments;

/// <summary>A cluster IP in miniature: each new TCP connection goes to the next pod, for the connection's whole life (as kube-proxy).</summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint[] _pods;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _next = -1;

    public TcpForwarder(IPAddress address, IPEndPoint[] pods)
    {
        _pods = pods;
        _listener = new TcpListener(address, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            _ = ForwardAsync(client, _pods[(int)((uint)Interlocked.Increment(ref _next) % (uint)_pods.Length)]);
        }
    }

    private async Task ForwardAsync(TcpClient client, IPEndPoint pod)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(pod, _stopping.Token);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                await Task.WhenAny(client.GetStream().CopyToAsync(upstream.GetStream(), linked.Token), upstream.GetStream().CopyToAsync(client.GetStream(), linked.Token));
                await linked.CancelAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }
}
