namespace Discovery.Http;

/// <summary>
/// Stands in for a gRPC response's content so that the call's status, which arrives in the trailers after the body, reaches passive
/// health once the body has been read to its end. Reads pass straight through; nothing is buffered, so a long stream stays a stream.
/// </summary>
/// <remarks>
/// The outcome is reported once: at the end of the body (the status trailer, or a connection failure when the body broke off), or,
/// when the caller disposes the response first (a cancelled call, a stream it stopped reading), from trailers already received —
/// and otherwise not at all, since a call the caller abandoned says nothing about the endpoint.
/// </remarks>
internal sealed class GrpcTrailersContent : HttpContent
{
    private readonly HttpResponseMessage _response;
    private readonly HttpContent _inner;
    private readonly Action<AttemptOutcome> _report;
    private int _reported;

    public GrpcTrailersContent(HttpResponseMessage response, HttpContent inner, Action<AttemptOutcome> report)
    {
        _response = response;
        _inner = inner;
        _report = report;
        foreach (var header in inner.Headers.NonValidated)
        {
            Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
        => new ObservingStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), this);

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
    {
        await _inner.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
        Ended();
    }

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Trailers read before the end was observed (a reader that stopped at the last message) still count.
            if (GrpcStatusClassifier.TryGetStatus(_response.TrailingHeaders, out var status))
            {
                Report(GrpcStatusClassifier.OutcomeOf(status));
            }

            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Ended()
    {
        // No status at the end of a gRPC body: the server broke the protocol, which is the endpoint's doing.
        Report(GrpcStatusClassifier.TryGetStatus(_response.TrailingHeaders, out var status) ? GrpcStatusClassifier.OutcomeOf(status) : AttemptOutcome.FailureAfterSend);
    }

    private void Report(AttemptOutcome outcome)
    {
        if (Interlocked.Exchange(ref _reported, 1) == 0)
        {
            _report(outcome);
        }
    }

    /// <summary>Passes reads through and tells the content when the body ended, or broke off.</summary>
    private sealed class ObservingStream(Stream inner, GrpcTrailersContent owner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return Seen(inner.Read(buffer), buffer.Length);
            }
            catch (IOException)
            {
                owner.Report(AttemptOutcome.FailureAfterSend);
                throw;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return Seen(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false), buffer.Length);
            }
            catch (IOException) when (!cancellationToken.IsCancellationRequested)
            {
                owner.Report(AttemptOutcome.FailureAfterSend);
                throw;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Seen(int read, int requested)
        {
            // A zero-byte read asks only whether data is there; only a read that wanted bytes and got none is the end.
            if (read == 0 && requested > 0)
            {
                owner.Ended();
            }

            return read;
        }
    }
}
