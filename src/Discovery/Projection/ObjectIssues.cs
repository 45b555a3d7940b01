namespace Discovery.Internal;

/// <summary>
/// What a projection left out of an API object, recorded when the object is received and logged by each watcher that
/// builds from it (once per object version, through its <see cref="RejectionLog"/>). Null on a projection with no issue.
/// </summary>
/// <param name="Kind">The object's kind (<c>Service</c>, <c>EndpointSlice</c>).</param>
/// <param name="Namespace">The object's namespace as it was sent.</param>
/// <param name="Name">The object's name.</param>
/// <param name="ResourceVersion">The object's resourceVersion.</param>
/// <param name="ObjectSkipped">Why the whole object was not used, or <see langword="null"/>.</param>
/// <param name="Unexpected">Whether <paramref name="ObjectSkipped"/> is a warning (not merely an unsupported but valid form).</param>
/// <param name="EntriesSkipped">How many entries (addresses, ports) were left out.</param>
/// <param name="FirstEntryProblem">Why the first of them was left out.</param>
internal sealed record ObjectIssues(
    string Kind,
    string? Namespace,
    string? Name,
    string? ResourceVersion,
    string? ObjectSkipped,
    bool Unexpected,
    int EntriesSkipped,
    string? FirstEntryProblem);
