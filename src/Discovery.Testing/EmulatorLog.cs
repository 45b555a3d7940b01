using Microsoft.Extensions.Logging;

namespace Discovery.Testing;

/// <summary>Source-generated log messages of the emulator.</summary>
internal static partial class EmulatorLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Kubernetes API emulator listening on {BaseAddress}")]
    public static partial void Listening(ILogger logger, Uri baseAddress);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Unexpected error answering {Method} {PathAndQuery}")]
    public static partial void UnexpectedError(ILogger logger, string method, string pathAndQuery, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Emulated outage started: {Mode}")]
    public static partial void OutageStarted(ILogger logger, OutageMode mode);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Emulated outage ended")]
    public static partial void OutageEnded(ILogger logger);
}
