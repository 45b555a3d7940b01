using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Discovery.Tests.Infrastructure;

/// <summary>Collects a test's logs at Trace level and shows them in the test output when the test fails.</summary>
internal sealed class TestLogs : IDisposable
{
    public TestLogs()
    {
        Factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(Collector)));
    }

    public FakeLogCollector Collector { get; } = new();

    public ILoggerFactory Factory { get; }

    public void Dispose()
    {
        // xunit shows a test's output only when it fails.
        if (TestContext.Current.TestOutputHelper is not null)
        {
            foreach (var record in Collector.GetSnapshot())
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"{record.Timestamp:HH:mm:ss.fff} {record.Level} {record.Message} {record.Exception?.GetType().Name}: {record.Exception?.Message}");
            }
        }

        Factory.Dispose();
    }
}
