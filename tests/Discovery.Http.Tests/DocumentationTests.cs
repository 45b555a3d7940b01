using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Discovery.Http.Tests;

/// <summary>Issue #11: the log levels docs/troubleshooting.md gives are the ones the code logs at.</summary>
public sealed partial class DocumentationTests
{
    [Fact]
    public void Troubleshooting_gives_each_log_message_the_level_the_code_logs_it_at()
    {
        var messages = new[] { typeof(ServiceKey).Assembly, typeof(DiscoveryHttpHandler).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => (a.Level, Words: Words(CodePlaceholder().Replace(a.Message, " ")), Template: TemplatePattern(a.Message)))
            .ToArray();
        Assert.NotEmpty(messages);

        var rows = File.ReadAllLines(Path.Combine(RepositoryRoot(), "docs", "troubleshooting.md"))
            .SkipWhile(line => !line.StartsWith("## Log messages worth knowing", StringComparison.Ordinal))
            .Skip(1)
            .TakeWhile(line => !line.StartsWith("## ", StringComparison.Ordinal))
            .Where(line => line.StartsWith("| ", StringComparison.Ordinal) && !line.StartsWith("| Level", StringComparison.Ordinal))
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .Select(cells => (Level: Enum.Parse<LogLevel>(cells[1]), Text: cells[2]))
            .ToArray();

        var matched = 0;
        var unmatched = new List<string>();
        foreach (var (level, text) in rows)
        {
            // "Reading *query* for Service ns/svc failed …" against "Reading {Query} for Service {Namespace}/{Service} failed …":
            // the row's own words, in order, within the message's; or the row is the message with values for its placeholders.
            var words = Words(DocPlaceholder().Replace(text, " "));
            var candidates = messages.Where(m => (m.Words.Length > 0 && words.Length > 0 && m.Words[0] == words[0] && IsSubsequence(words, m.Words)) || m.Template.IsMatch(text)).ToArray();
            if (candidates.Length == 0)
            {
                // A row quoting an exception's text as well (RequestTimeout) has words the template has not.
                unmatched.Add(text);
                continue;
            }

            matched++;
            Assert.True(candidates.All(c => c.Level == level), $"troubleshooting.md says {level} for \"{text}\"; the code logs it at {string.Join(", ", candidates.Select(c => c.Level))}.");
        }

        Assert.True(matched >= rows.Length - 1, $"Only {matched} of {rows.Length} rows of troubleshooting.md's log table match a log message of the code; not: {string.Join(" / ", unmatched)}");
    }

    private static Regex TemplatePattern(string message)
        => new("^" + string.Join(".+?", CodePlaceholder().Split(message).Select(Regex.Escape)), RegexOptions.None, TimeSpan.FromSeconds(1));

    private static string[] Words(string text)
        => [.. WordPattern().Matches(text).Select(m => m.Value.ToLowerInvariant())];

    private static bool IsSubsequence(string[] needle, string[] haystack)
    {
        var i = 0;
        foreach (var word in haystack)
        {
            if (i < needle.Length && needle[i] == word)
            {
                i++;
            }
        }

        return i == needle.Length;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Discovery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Discovery.sln) is not above the test's directory.");
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex CodePlaceholder();

    // *italic* placeholders, ns/svc and ns/name, and elisions.
    [GeneratedRegex(@"\*[^*]*\*|\bns/(svc|name)\b|…")]
    private static partial Regex DocPlaceholder();

    [GeneratedRegex(@"[A-Za-z][A-Za-z0-9]*")]
    private static partial Regex WordPattern();
}
