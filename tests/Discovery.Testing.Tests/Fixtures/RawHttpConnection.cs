using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Discovery.Testing.Tests.Fixtures;

/// <summary>
/// A minimal HTTP/1.1 client over a socket, so a test sees exactly what went over the wire:
/// header names, Content-Length versus chunked, and chunk boundaries.
/// </summary>
internal sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>Called with each complete line of a chunked body as it arrives.</summary>
    public Action<byte[]>? OnChunk { get; set; }

    public static async Task<RawHttpConnection> ConnectAsync(Uri baseAddress, CancellationToken cancellationToken)
    {
        var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port, cancellationToken);
        return new RawHttpConnection(client);
    }

    public async Task SendAsync(string method, string pathAndQuery, IEnumerable<KeyValuePair<string, string>> headers, string? body, CancellationToken cancellationToken)
    {
        var request = new StringBuilder();
        request.Append(CultureInfo.InvariantCulture, $"{method} {pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        foreach (var (name, value) in headers)
        {
            request.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        var bodyBytes = body is null ? null : Encoding.UTF8.GetBytes(body);
        if (bodyBytes is not null)
        {
            request.Append(CultureInfo.InvariantCulture, $"Content-Length: {bodyBytes.Length}\r\n");
        }

        request.Append("\r\n");
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken);
        if (bodyBytes is not null)
        {
            await _stream.WriteAsync(bodyBytes, cancellationToken);
        }
    }

    public async Task<(int Status, List<KeyValuePair<string, string>> Headers)> ReadHeadersAsync(CancellationToken cancellationToken)
    {
        var statusLine = await ReadLineAsync(cancellationToken);
        var status = int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        for (var line = await ReadLineAsync(cancellationToken); line.Length > 0; line = await ReadLineAsync(cancellationToken))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        return (status, headers);
    }

    public async Task<RawHttpResponse> ReadBodyAsync(int status, List<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        var contentLength = headers.FirstOrDefault(h => string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        var chunked = headers.Any(h => string.Equals(h.Key, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase));
        if (contentLength is not null)
        {
            var body = await ReadExactlyAsync(int.Parse(contentLength, CultureInfo.InvariantCulture), cancellationToken);
            return new RawHttpResponse(status, headers, body, null);
        }

        if (!chunked)
        {
            return new RawHttpResponse(status, headers, [], null);
        }

        var chunks = new List<byte[]>();
        var all = new MemoryStream();
        while (true)
        {
            var size = int.Parse(await ReadLineAsync(cancellationToken), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var data = await ReadExactlyAsync(size, cancellationToken);
            await ReadLineAsync(cancellationToken);
            if (size == 0)
            {
                break;
            }

            chunks.Add(data);
            all.Write(data);
            OnChunk?.Invoke(data);
        }

        return new RawHttpResponse(status, headers, all.ToArray(), chunks);
    }

    public async Task<RawHttpResponse> ExchangeAsync(string method, string pathAndQuery, IEnumerable<KeyValuePair<string, string>> headers, string? body, CancellationToken cancellationToken)
    {
        await SendAsync(method, pathAndQuery, headers, body, cancellationToken);
        var (status, responseHeaders) = await ReadHeadersAsync(cancellationToken);
        return await ReadBodyAsync(status, responseHeaders, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new MemoryStream();
        while (true)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var b = _buffer[_start++];
            if (b == '\n')
            {
                var bytes = line.ToArray();
                var length = bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length;
                return Encoding.UTF8.GetString(bytes, 0, length);
            }

            line.WriteByte(b);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var take = Math.Min(count - filled, _end - _start);
            Array.Copy(_buffer, _start, result, filled, take);
            _start += take;
            filled += take;
        }

        return result;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        if (_end == 0)
        {
            throw new EndOfStreamException("The server closed the connection.");
        }
    }
}
