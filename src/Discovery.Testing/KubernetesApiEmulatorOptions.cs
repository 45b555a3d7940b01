using Microsoft.Extensions.Logging;

namespace Discovery.Testing;

/// <summary>Settings for <see cref="KubernetesApiEmulator"/>.</summary>
public sealed class KubernetesApiEmulatorOptions
{
    /// <summary>The loopback port to listen on; 0 (the default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// How many recent events are kept for watches that resume from a resourceVersion (the watch
    /// cache window). A watch or exact list from before the window gets 410 Expired. Default 1,000.
    /// </summary>
    public int RetainedEvents { get; set; } = 1000;

    /// <summary>When set, every request must carry <c>Authorization: Bearer &lt;token&gt;</c> (or a token added with
    /// <see cref="EmulatorAccessRules.AddUser"/>); others get 401. Can be changed later on <see cref="EmulatorAccessRules.RequiredBearerToken"/>.</summary>
    public string? RequiredBearerToken { get; set; }

    /// <summary>The user name in 403 messages for requests not made with a token added by <see cref="EmulatorAccessRules.AddUser"/>.</summary>
    public string UserName { get; set; } = "system:serviceaccount:default:discovery";

    /// <summary>
    /// Accept endpoint addresses in 127.0.0.0/8 and ::1 (a real server rejects them with 422) so tests
    /// can point endpoints at local test servers. Default true.
    /// </summary>
    public bool AllowLoopbackAddresses { get; set; } = true;

    /// <summary>Clock for timestamps, watch timeouts and bookmark timers. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Interval of periodic bookmarks on watches that allow them (the real watch cache: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long before a watch's <c>timeoutSeconds</c> deadline a bookmark is sent (the real watch cache: about 2 s).</summary>
    public TimeSpan BookmarkBeforeDeadline { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Request bodies larger than this get 413. Default 3 MiB, like the real server.</summary>
    public int MaxRequestBodyBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>How many received requests <see cref="KubernetesApiEmulator.Requests"/> keeps. Default 10,000.</summary>
    public int RecordedRequestLimit { get; set; } = 10_000;

    /// <summary>The <c>managedFields</c> manager for objects written through the programmatic store API.</summary>
    public string FieldManager { get; set; } = "discovery-testing";

    /// <summary>Create the <c>default</c> namespace at start, as every cluster has it. Default true.</summary>
    public bool CreateDefaultNamespace { get; set; } = true;

    /// <summary>Create missing namespaces when the programmatic store API writes into them. Default true.</summary>
    public bool AutoCreateNamespaces { get; set; } = true;

    /// <summary>Logger factory for the emulator's own diagnostics; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
