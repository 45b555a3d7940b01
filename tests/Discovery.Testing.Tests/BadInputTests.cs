using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Discovery.Testing.Tests;

/// <summary>Client mistakes get the real server's 4xx answers, never a 500 or a crash.</summary>
public sealed class BadInputTests
{
    private const string Slices = "apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("GET", "api/v1/namespaces/default/widgets")]
    [InlineData("GET", "apis/example.com/v1/widgets")]
    [InlineData("GET", "nonsense")]
    [InlineData("GET", "api/v2/services")]
    [InlineData("GET", "api/v1/services/alpaca-prod")]
    [InlineData("GET", "api/v1/namespaces/default/endpointslices")]
    [InlineData("GET", "api/v1/namespaces/default/services/x/proxy")]
    [InlineData("GET", "openapi/v2")]
    public async Task Unknown_paths_get_a_404_status(string method, string path)
    {
        var (status, body) = await SendAsync(method, path, null, null);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("NotFound", body["reason"]?.GetValue<string>());
        Assert.Equal("Status", body["kind"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("{not json", "BadRequest", 400)]
    [InlineData("[1,2]", "BadRequest", 400)]
    [InlineData("\"text\"", "BadRequest", 400)]
    [InlineData("""{"kind":"Service","apiVersion":"v1","metadata":{"name":"x"}}""", "BadRequest", 400)]
    [InlineData("""{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1beta1","metadata":{"name":"x"}}""", "BadRequest", 400)]
    [InlineData("""{"metadata":{"name":"x"},"addressType":"IPv4","endpoints":[{"addresses":"10.1.0.1"}]}""", "BadRequest", 400)]
    [InlineData("""{"metadata":{"name":"x","namespace":"other"},"addressType":"IPv4"}""", "BadRequest", 400)]
    [InlineData("""{"metadata":{"name":"Bad_Name"},"addressType":"IPv4"}""", "Invalid", 422)]
    [InlineData("""{"metadata":{"name":"x"},"addressType":"IPv5"}""", "Invalid", 422)]
    [InlineData("""{"metadata":{"name":"x"},"addressType":"IPv4","endpoints":[{"addresses":["not-an-ip"]}]}""", "Invalid", 422)]
    [InlineData("""{"metadata":{"name":"x"},"addressType":"IPv4","endpoints":[{"addresses":[]}]}""", "Invalid", 422)]
    [InlineData("""{"metadata":{"name":"x"},"addressType":"IPv4","ports":[{"port":70000}]}""", "Invalid", 422)]
    [InlineData("""{"metadata":{"name":"x"},"addressType":"IPv4","ports":[{"name":"a","port":1},{"name":"a","port":2}]}""", "Invalid", 422)]
    [InlineData("""{"metadata":{},"addressType":"IPv4"}""", "Invalid", 422)]
    public async Task Bad_create_bodies_get_400_or_422(string body, string reason, int code)
    {
        var (status, answer) = await SendAsync("POST", Slices, body, "application/json");

        Assert.Equal(code, (int)status);
        Assert.Equal(reason, answer["reason"]?.GetValue<string>());
    }

    [Fact]
    public async Task Invalid_slice_lists_causes_like_the_real_server()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.AllowLoopbackAddresses = false);
        var (status, body) = await SendAsync(emulator, "POST", Slices, """{"metadata":{"name":"x"},"addressType":"IPv4","endpoints":[{"addresses":["127.0.0.1"]}],"ports":[{"port":0}]}""", "application/json");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal(
            """EndpointSlice.discovery.k8s.io "x" is invalid: [endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128), ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive]""",
            body["message"]!.GetValue<string>());
        Assert.Equal("EndpointSlice", body["details"]!["kind"]!.GetValue<string>());
        Assert.Equal(2, body["details"]!["causes"]!.AsArray().Count);
    }

    [Fact]
    public async Task Loopback_addresses_are_accepted_by_default()
    {
        var (status, _) = await SendAsync("POST", Slices, """{"metadata":{"name":"x"},"addressType":"IPv4","endpoints":[{"addresses":["127.0.0.2"]}]}""", "application/json");

        Assert.Equal(HttpStatusCode.Created, status);
    }

    [Theory]
    [InlineData("""{"metadata":{"name":"1abc"},"spec":{"ports":[{"port":80}]}}""")]
    [InlineData("""{"metadata":{"name":"x"},"spec":{"type":"Foo","ports":[{"port":80}]}}""")]
    [InlineData("""{"metadata":{"name":"x"},"spec":{"ports":[]}}""")]
    [InlineData("""{"metadata":{"name":"x"},"spec":{"ports":[{"port":80},{"port":81}]}}""")]
    [InlineData("""{"metadata":{"name":"x"},"spec":{"type":"ExternalName"}}""")]
    public async Task Invalid_services_get_422(string body)
    {
        var (status, answer) = await SendAsync("POST", "api/v1/namespaces/default/services", body, "application/json");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal("Invalid", answer["reason"]?.GetValue<string>());
        Assert.Equal("Service", answer["details"]?["kind"]?.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_fields_are_dropped_or_rejected_by_field_validation()
    {
        await using var emulator = await TestEmulator.StartAsync();
        const string body = """{"metadata":{"name":"x","bogus":1},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.1"],"extra":true}]}""";

        var (strict, strictBody) = await SendAsync(emulator, "POST", Slices + "?fieldValidation=Strict", body, "application/json");
        var (dropped, droppedBody) = await SendAsync(emulator, "POST", Slices, body, "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, strict);
        Assert.Equal("strict decoding error: unknown field \"metadata.bogus\", unknown field \"endpoints[0].extra\"", strictBody["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, dropped);
        Assert.Null(droppedBody["metadata"]!["bogus"]);
        Assert.Null(droppedBody["endpoints"]![0]!["extra"]);
    }

    [Fact]
    public async Task Post_to_a_named_object_gets_405()
    {
        var (status, body) = await SendAsync("POST", Slices + "/x", "{}", "application/json");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
        Assert.Equal("MethodNotAllowed", body["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Oversized_body_gets_413()
    {
        var big = "{\"metadata\":{\"name\":\"x\",\"annotations\":{\"a\":\"" + new string('x', 4 * 1024 * 1024) + "\"}}}";

        var (status, body) = await SendAsync("POST", Slices, big, "application/json");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("RequestEntityTooLarge", body["reason"]?.GetValue<string>());
    }

    [Fact]
    public async Task Unsupported_patch_type_gets_415()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("default", "svc", 80, ["10.1.0.1"]);

        var (status, _) = await SendAsync(emulator, "PATCH", "api/v1/namespaces/default/services/svc", "kind: Service", "application/apply-patch+yaml");
        var (badPatch, _) = await SendAsync(emulator, "PATCH", "api/v1/namespaces/default/services/svc", """[{"op":"remove","path":"/spec/nothing"}]""", "application/json-patch+json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badPatch);
    }

    [Fact]
    public async Task Mismatched_names_and_stale_precondition_are_rejected()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var slice = emulator.ApplyServiceWithEndpoints("default", "svc", 80, ["10.1.0.1"]);

        var (rename, renameBody) = await SendAsync(emulator, "PUT", $"{Slices}/other", """{"metadata":{"name":"svc-emulated"},"addressType":"IPv4"}""", "application/json");
        var (precondition, _) = await SendAsync(emulator, "DELETE", $"{Slices}/{slice.Metadata.Name}", """{"preconditions":{"resourceVersion":"1"}}""", "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, rename);
        Assert.Equal("the name of the object (svc-emulated) does not match the name on the URL (other)", renameBody["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, precondition);
    }

    [Fact]
    public async Task Garbage_never_causes_a_server_error()
    {
        await using var emulator = await TestEmulator.StartAsync();
        emulator.ApplyServiceWithEndpoints("default", "svc", 80, ["10.1.0.1"]);
        string[] paths = [Slices, $"{Slices}/svc-emulated", "api/v1/namespaces/default/services/svc", "api/v1/namespaces", "api/v1/namespaces/default", "api/v1/namespaces/default/pods/p/status"];
        string[] bodies = ["", "null", "{}", "[]", "{\"metadata\":null}", "{\"metadata\":[]}", "{\"metadata\":{\"name\":5}}", "{\"metadata\":{\"labels\":{\"a\":1}}}", "{\"spec\":\"x\"}", "{\"endpoints\":[null]}", "{\"subsets\":[{\"addresses\":[{}]}]}", "\u0000", "{\"a\":" + new string('[', 500) + "}"];
        string[] methods = ["POST", "PUT", "PATCH", "DELETE", "GET"];
        string[] queries = ["", "?limit=x", "?limit=-1", "?continue=%%%", "?continue=abc", "?resourceVersion=x", "?resourceVersion=99999999", "?resourceVersionMatch=Exact", "?resourceVersion=0&resourceVersionMatch=Exact", "?watch=true&timeoutSeconds=x", "?watch=true&resourceVersion=-5", "?labelSelector=%00", "?fieldSelector=%3D%3D"];
        var problems = new List<string>();
        foreach (var path in paths)
        {
            foreach (var method in methods)
            {
                foreach (var (body, query) in bodies.Zip(queries))
                {
                    var contentType = method == "PATCH" ? "application/merge-patch+json" : "application/json";
                    var (status, answer) = await SendAsync(emulator, method, path + query, method == "GET" ? null : body, contentType);

                    // A resourceVersion from the future gets the real server's 504 "Too large resource version".
                    if ((int)status >= 500 && !(status == HttpStatusCode.GatewayTimeout && answer["message"]!.GetValue<string>().StartsWith("Too large resource version", StringComparison.Ordinal)))
                    {
                        problems.Add($"{method} {path}{query} {body}: {(int)status}");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(string method, string path, string? body, string? contentType)
    {
        await using var emulator = await TestEmulator.StartAsync();
        return await SendAsync(emulator, method, path, body, contentType);
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(KubernetesApiEmulator emulator, string method, string path, string? body, string? contentType)
    {
        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType!);
        }

        using var deadline = TestEmulator.Deadline();
        using var response = await http.SendAsync(request, deadline.Token);
        var text = await response.Content.ReadAsStringAsync(deadline.Token);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.ToString());
        return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? []);
    }
}
