using System.Diagnostics;
using Grpc.Net.Client.Balancer;

namespace Discovery.Benchmarks.Experiments;

/// <summary>
/// Wraps the <c>kubernetes:</c> resolver (under the scheme <c>kubernetes-timed</c>) and timestamps each result right after the
/// channel has taken it: grpc-dotnet's balancer installs its new picker inside that call, so the timestamp is when calls can
/// see the change (for a removed pod; a new pod is picked once its connection is up).
/// </summary>
internal sealed class TimedResolverFactory(ResolverFactory inner, Action<long, ResolverResult> onDelivered) : ResolverFactory
{
    public override string Name => "kubernetes-timed";

    public override Resolver Create(ResolverOptions options) => new TimedResolver(inner.Create(options), onDelivered);

    private sealed class TimedResolver(Resolver inner, Action<long, ResolverResult> onDelivered) : Resolver
    {
        public override void Start(Action<ResolverResult> listener) => inner.Start(result =>
        {
            listener(result);
            onDelivered(Stopwatch.GetTimestamp(), result);
        });

        public override void Refresh() => inner.Refresh();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
