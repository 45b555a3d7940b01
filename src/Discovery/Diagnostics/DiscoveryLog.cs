using Microsoft.Extensions.Logging;

namespace Discovery.Internal;

/// <summary>Every log message of the core, source-generated. Messages never carry credentials: only names, counts and server errors.</summary>
internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Watcher for Service {Namespace}/{Service} started")]
    public static partial void WatcherStarted(ILogger logger, string @namespace, string service);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Watcher for Service {Namespace}/{Service} stopped ({Reason})")]
    public static partial void WatcherStopped(ILogger logger, string @namespace, string service, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Service {Namespace}/{Service} synced from {Source}: {Usable} usable of {Total} endpoints")]
    public static partial void InitialSync(ILogger logger, string @namespace, string service, EndpointSourceKind source, int usable, int total);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Service {Namespace}/{Service} snapshot v{Version}: {Usable} usable of {Total} endpoints (resourceVersion {ResourceVersion})")]
    public static partial void SnapshotPublished(ILogger logger, string @namespace, string service, long version, int usable, int total, string? resourceVersion);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Reading {Query} for Service {Namespace}/{Service} failed (attempt {Attempt}); retrying in {Delay}. The last known endpoints stay in use")]
    public static partial void ReadFailed(ILogger logger, Exception exception, string query, string @namespace, string service, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "The watch of {Query} for Service {Namespace}/{Service} expired (410 Gone); re-listing")]
    public static partial void WatchExpired(ILogger logger, string query, string @namespace, string service);

    [LoggerMessage(EventId = 7, Level = LogLevel.Trace, Message = "The watch of {Query} ended normally at resourceVersion {ResourceVersion}; resuming")]
    public static partial void WatchEnded(ILogger logger, string query, string? resourceVersion);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "The watch of {Query} for Service {Namespace}/{Service} sent nothing past its deadline of {Deadline}; treating the connection as dead")]
    public static partial void WatchDeadlineExceeded(ILogger logger, string query, string @namespace, string service, TimeSpan deadline);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Skipped a malformed watch event of {Query} for Service {Namespace}/{Service}")]
    public static partial void MalformedEvent(ILogger logger, Exception exception, string query, string @namespace, string service);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "EndpointSlices are not available for Service {Namespace}/{Service} ({StatusCode}); using core/v1 Endpoints")]
    public static partial void FellBackToEndpoints(ILogger logger, string @namespace, string service, int statusCode);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Service {Namespace}/{Service}: the Kubernetes API cannot be used; using the {Source} fallback")]
    public static partial void UsingFallback(ILogger logger, string @namespace, string service, EndpointSourceKind source);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Node addresses cannot be read ({Reason}); address mode {Mode} falls back to pod IPs")]
    public static partial void NodeAddressesUnavailable(ILogger logger, AddressMode mode, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "Watcher for Service {Namespace}/{Service} unused for {Idle}; stopping it")]
    public static partial void IdleEviction(ILogger logger, string @namespace, string service, TimeSpan idle);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Address mode {Mode} cannot be applied to Service {Namespace}/{Service} ({Reason}); using pod IPs")]
    public static partial void AddressModeNotApplicable(ILogger logger, AddressMode mode, string @namespace, string service, string reason);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Could not pre-warm Service '{Entry}': {Reason}")]
    public static partial void PrewarmSkipped(ILogger logger, string entry, string reason);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "A subscriber to Service {Namespace}/{Service} threw; it keeps receiving changes")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception, string @namespace, string service);

    [LoggerMessage(EventId = 17, Level = LogLevel.Trace, Message = "Service {Namespace}/{Service}: nothing changed at resourceVersion {ResourceVersion}; snapshot v{Version} stays")]
    public static partial void SnapshotUnchanged(ILogger logger, string @namespace, string service, long version, string? resourceVersion);

    [LoggerMessage(EventId = 18, Level = LogLevel.Warning, Message = "{MaxWatchers} Services are watched, the Discovery:MaxWatchers limit, and none is idle: lookups of further Services fail until watchers become idle or the limit is raised")]
    public static partial void WatcherLimitReached(ILogger logger, int maxWatchers);

    [LoggerMessage(EventId = 19, Level = LogLevel.Warning, Message = "Skipped {Kind} {ObjectNamespace}/{ObjectName} (resourceVersion {ResourceVersion}) for Service {Namespace}/{Service}: {Reason}; the Service's other objects stay in use")]
    public static partial void ObjectSkipped(ILogger logger, string kind, string? objectNamespace, string? objectName, string? resourceVersion, string @namespace, string service, string reason);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Skipped {Count} invalid entries of {Kind} {ObjectNamespace}/{ObjectName} (resourceVersion {ResourceVersion}) for Service {Namespace}/{Service}; the rest of it is used. First: {Problem}")]
    public static partial void EntriesSkipped(ILogger logger, int count, string kind, string? objectNamespace, string? objectName, string? resourceVersion, string @namespace, string service, string problem);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Ignored {Kind} {ObjectNamespace}/{ObjectName} of Service {Namespace}/{Service}: {Reason}")]
    public static partial void UnsupportedObjectSkipped(ILogger logger, string kind, string? objectNamespace, string? objectName, string @namespace, string service, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Service {Namespace}/{Service} is watched on its own instead of through the namespace watch (selectorless Service, or the namespace's EndpointSlices cannot be watched)")]
    public static partial void WatchingPerService(ILogger logger, string @namespace, string service);

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "Namespace {Namespace}: more than {Threshold} Services are in use (Discovery:NamespaceWatchThreshold); they move onto one shared namespace watch once it has synced")]
    public static partial void NamespaceWatchStarting(ILogger logger, string @namespace, int threshold);

    [LoggerMessage(EventId = 24, Level = LogLevel.Debug, Message = "Service {Namespace}/{Service} now builds from the namespace watch; its own watches stop")]
    public static partial void MovedToNamespaceWatch(ILogger logger, string @namespace, string service);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Namespace {Namespace}: listing every Service is forbidden ({StatusCode}), as with a Role limited by resourceNames; its Services are watched one by one")]
    public static partial void NamespaceServicesForbidden(ILogger logger, string @namespace, int statusCode);

    [LoggerMessage(EventId = 41, Level = LogLevel.Debug, Message = "Host {Service}.{Namespace} is not a Service the app can see ({Reason}); its requests go to DNS, and the API is not asked again for {Period}")]
    public static partial void HostNotVisible(ILogger logger, string @namespace, string service, string reason, TimeSpan period);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "EndpointSlices are allowed again for Service {Namespace}/{Service}; switching back from core/v1 Endpoints")]
    public static partial void ReturningToEndpointSlices(ILogger logger, string @namespace, string service);
}
