using System.Globalization;
using System.Text;

namespace Discovery.Testing.Tests.Fixtures;

/// <summary>One recorded exchange from <c>fixtures/apiserver-v1.26/NN-name.http</c>.</summary>
internal sealed record HttpTranscript(
    string FileName,
    string Method,
    string PathAndQuery,
    string Protocol,
    IReadOnlyList<KeyValuePair<string, string>> RequestHeaders,
    string? RequestBody,
    int StatusCode,
    IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders,
    byte[] ResponseBody)
{
    public int Number => int.Parse(FileName[..2], CultureInfo.InvariantCulture);

    public string? RequestHeader(string name) => RequestHeaders.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public string? ResponseHeader(string name) => ResponseHeaders.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public bool IsWatch => PathAndQuery.Contains("watch=true", StringComparison.Ordinal);

    public static HttpTranscript Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var position = 0;
        string ReadLine()
        {
            var end = Array.IndexOf(bytes, (byte)'\n', position);
            if (end < 0)
            {
                end = bytes.Length;
            }

            var line = Encoding.UTF8.GetString(bytes, position, end - position);
            position = Math.Min(bytes.Length, end + 1);
            return line;
        }

        var requestLine = ReadLine().Split(' ');
        var requestHeaders = new List<KeyValuePair<string, string>>();
        for (var line = ReadLine(); line.Length > 0; line = ReadLine())
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            requestHeaders.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        string? body = null;
        if (requestLine[0] is "POST" or "PUT" or "PATCH")
        {
            body = ReadLine();
            ReadLine();
        }

        var statusLine = ReadLine().Split(' ');
        var responseHeaders = new List<KeyValuePair<string, string>>();
        for (var line = ReadLine(); line.Length > 0; line = ReadLine())
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            responseHeaders.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        return new HttpTranscript(
            Path.GetFileName(path),
            requestLine[0],
            requestLine[1],
            requestLine[2],
            requestHeaders,
            body,
            int.Parse(statusLine[1], CultureInfo.InvariantCulture),
            responseHeaders,
            bytes[position..]);
    }
}
