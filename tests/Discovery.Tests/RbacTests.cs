using System.Text.RegularExpressions;
using Discovery.Tests.Infrastructure;

namespace Discovery.Tests;

/// <summary>RBAC refusals against the emulator's access rules, as a ServiceAccount under a Role sees them.</summary>
public partial class RbacTests
{
    private const string Token = "app-token";
    private const string User = "system:serviceaccount:demo:app";
    private static readonly ServiceKey Alpaca = TestResolver.Key("alpaca-prod");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [GeneratedRegex(@"\{apiGroups: \[[^\]]*\], resources: \[(?<resource>[a-z]+)\], verbs: \[(?<verbs>[a-z, ]+)\]\}")]
    private static partial Regex RuleInMessage();

    private static async Task<EmulatorHarness> StartAsync(Action<KubernetesDiscoveryOptions>? configure = null)
    {
        var harness = await EmulatorHarness.StartAsync(
            o =>
            {
                // Long back-off: only the lookup's own re-check can explain a recovery within the test.
                o.ReconnectBaseDelay = TimeSpan.FromMinutes(1);
                o.ReconnectMaxDelay = TimeSpan.FromMinutes(5);
                configure?.Invoke(o);
            },
            bearerToken: Token);
        harness.Emulator.Access.AddUser(Token, User, restricted: true);
        return harness;
    }

    [Fact]
    public async Task A_service_account_with_nothing_is_told_every_rule_and_applying_exactly_those_makes_the_next_lookup_succeed()
    {
        await using var harness = await StartAsync();

        var error = await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await harness.Resolver.GetSnapshotAsync(Alpaca, Ct));

        // Every rule in one message: services and endpointslices, each get, list, watch.
        var rules = RuleInMessage().Matches(error.Message).Select(m => (m.Groups["resource"].Value, m.Groups["verbs"].Value)).ToArray();
        Assert.Equal([("services", "get, list, watch"), ("endpointslices", "get, list, watch")], rules.OrderByDescending(r => r.Item1 == "services"));
        Assert.Equal(2, error.MissingRules.Count);
        Assert.Equal("list", error.Verb);

        // The user applies exactly what the message says (a Role in the namespace), then the app's next request comes.
        foreach (var (resource, verbs) in rules)
        {
            harness.Emulator.Access.Grant(User, "demo", [resource], verbs.Split(", "));
        }

        harness.Time.Advance(TimeSpan.FromSeconds(2));
        var snapshot = await harness.Resolver.GetSnapshotAsync(Alpaca, Ct);

        Assert.True(snapshot.ServiceExists);
        Assert.Equal(3, snapshot.UsableEndpoints.Length);
        Assert.Equal(EndpointSourceKind.EndpointSlices, snapshot.Source);
    }

    [Fact]
    public async Task A_partly_granted_role_gets_only_the_missing_rules_and_the_verb_actually_refused()
    {
        await using var harness = await StartAsync();
        harness.Emulator.Access.Grant(User, "demo", ["services"], ["get", "list"]);

        var error = await Assert.ThrowsAsync<KubernetesForbiddenException>(async () => await harness.Resolver.GetSnapshotAsync(Alpaca, Ct));

        var missing = error.MissingRules.ToDictionary(p => p.Resource, p => string.Join(",", p.Verbs));
        Assert.Equal("watch", missing["services"]);
        Assert.Equal("get,list,watch", missing["endpointslices"]);
        Assert.Equal(2, missing.Count);

        // The refusal reported is the request that was refused: services were only refused a watch.
        Assert.Equal(error.Resource == "services" ? "watch" : "list", error.Verb);
        Assert.Contains($"cannot {error.Verb} {error.Resource}", error.Message, StringComparison.Ordinal);

        foreach (var rule in error.MissingRules)
        {
            harness.Emulator.Access.Grant(User, "demo", [rule.Resource], rule.Verbs);
        }

        harness.Time.Advance(TimeSpan.FromSeconds(2));
        var snapshot = await harness.Resolver.GetSnapshotAsync(Alpaca, Ct);
        Assert.Equal(3, snapshot.UsableEndpoints.Length);
    }

    [Fact]
    public async Task Slices_refused_for_a_while_fall_back_to_endpoints_then_come_back_without_an_empty_window()
    {
        await using var harness = await EmulatorHarness.StartAsync(o =>
        {
            o.ReconnectBaseDelay = TimeSpan.FromSeconds(1);
            o.ReconnectMaxDelay = TimeSpan.FromSeconds(4);
        });

        // An API server whose authorizer is not warm yet: EndpointSlices refused.
        harness.Emulator.Access.Deny("demo", "endpointslices", "*");
        var first = await harness.Resolver.GetSnapshotAsync(Alpaca, Ct);
        Assert.Equal(EndpointSourceKind.Endpoints, first.Source);
        Assert.All(first.Endpoints, e => Assert.Null(e.Zone));
        // The recorded Endpoints and EndpointSlices of alpaca-prod differ (two ready addresses, three): readers may see
        // either, never an empty or partial set.
        Assert.Equal(["10.1.0.11", "10.1.0.12"], first.UsableEndpoints.Select(e => e.Address).Order(StringComparer.Ordinal));
        await using var sampler = new SnapshotSampler(harness.Resolver, Alpaca, ["10.1.0.11", "10.1.0.12"], ["10.1.0.11", "10.1.0.12", "10.1.0.15"]);

        // Refused for a few (fake) seconds more, then allowed.
        harness.Time.Advance(TimeSpan.FromSeconds(5));
        harness.Emulator.Access.Clear();

        await Eventually.True(
            () => harness.Resolver.TryGetSnapshot(Alpaca, out var s) && s.Source == EndpointSourceKind.EndpointSlices,
            "the watcher is back on EndpointSlices",
            harness.Time,
            TimeSpan.FromMilliseconds(500));

        // Slice-only detail (zones) shows again, and later slice changes arrive.
        Assert.True(harness.Resolver.TryGetSnapshot(Alpaca, out var back));
        Assert.Contains(back.Endpoints, e => e.Zone == "us-east-1a");
        await sampler.AssertNoViolationsAsync();
    }
}
