using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Discovery.Reliability.Tests.Infrastructure;

/// <summary>Every log record of the product at Trace level, kept in memory.</summary>
internal sealed class CapturedLogs : IDisposable
{
    public CapturedLogs()
    {
        Provider = new FakeLogCollectorProvider();
        Factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Provider.Inner));
    }

    public FakeLogCollectorProvider Provider { get; }

    public ILoggerFactory Factory { get; }

    public IReadOnlyList<FakeLogRecord> Records => Provider.Inner.Collector.GetSnapshot();

    /// <summary>Everything a log sink could write for a record: message, exception with inner ones and stack, state values.</summary>
    public static string FullText(FakeLogRecord record)
    {
        var state = record.StructuredState is { } pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
        return $"{record.Level} {record.Category} {record.Message} {state} {record.Exception}";
    }

    public string Tail(int count) => string.Join("\n", Records.TakeLast(count).Select(r => $"{r.Level} {r.Message} {r.Exception?.GetType().Name}: {r.Exception?.Message}"));

    public void Dispose() => Factory.Dispose();
}

internal sealed class FakeLogCollectorProvider
{
    public FakeLoggerProvider Inner { get; } = new(new FakeLogCollector());
}
