using Discovery.Testing.Selectors;
using Discovery.Testing.Store;

namespace Discovery.Testing.Http;

/// <summary>Chooses which line, if any, a watcher with selectors gets for an event (the watch cache's rules).</summary>
internal sealed class WatchFilter(LabelSelector labels, FieldSelector fields)
{
    public bool IsEverything => labels.IsEmpty && fields.IsEmpty;

    public bool Matches(StoredObject obj) => labels.Matches(obj.Labels) && fields.Matches(obj);

    /// <summary>
    /// The line to send, or null. An object that starts matching arrives as ADDED, one that stops
    /// matching as DELETED with its previous state at the event's revision.
    /// </summary>
    public byte[]? LineFor(StoreEvent e)
    {
        if (IsEverything)
        {
            return e.Line;
        }

        switch (e.Type)
        {
            case StoreEventType.Added:
                return Matches(e.Current!) ? e.Line : null;
            case StoreEventType.Deleted:
                return Matches(e.Previous!) ? e.Line : null;
            case StoreEventType.Modified:
                var now = Matches(e.Current!);
                var before = Matches(e.Previous!);
                return (now, before) switch
                {
                    (true, true) => e.Line,
                    (true, false) => e.AddedLine,
                    (false, true) => e.DeletedPreviousLine,
                    _ => null,
                };
            default:
                return null;
        }
    }
}
