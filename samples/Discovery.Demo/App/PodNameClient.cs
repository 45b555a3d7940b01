namespace Discovery.Demo.App;

/// <summary>
/// The application's typed HttpClient: it calls Services by name (<c>http://alpaca-prod/</c>) and reads which pod
/// answered. Nothing in it knows about Kubernetes; the discovery handler behind the HttpClient does the rest.
/// </summary>
public sealed class PodNameClient
{
    private readonly HttpClient _http;

    /// <summary>Created by IHttpClientFactory.</summary>
    public PodNameClient(HttpClient http) => _http = http;

    /// <summary>Sends <c>GET</c> to <paramref name="uri"/> and returns the name of the pod that answered.</summary>
    public async Task<string> GetPodNameAsync(Uri uri, CancellationToken cancellationToken)
    {
        var body = await _http.GetStringAsync(uri, cancellationToken);
        return ReadPodName(body);
    }

    /// <summary>
    /// The demo's own pods answer with their name; the <c>traefik/whoami</c> image of samples/manifests/backends.yaml
    /// answers with several lines, one of them <c>Hostname: &lt;pod&gt;</c>.
    /// </summary>
    public static string ReadPodName(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith("Hostname:", StringComparison.OrdinalIgnoreCase))
            {
                return line["Hostname:".Length..].Trim();
            }
        }

        return body.Trim();
    }
}
