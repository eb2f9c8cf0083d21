using System.Buffers;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Tests.Infrastructure;

/// <summary>An <see cref="IStorage"/> wrapper that counts reads that found an object: whole-object reads, ranged reads and bytes.</summary>
public sealed class CountingStorage : IStorage
{
    private readonly IStorage _inner;
    private long _wholeReads;
    private long _rangedReads;
    private long _bytes;

    public CountingStorage(IStorage inner)
    {
        _inner = inner;
    }

    /// <summary>Reads without a length that found an object (a whole object, or its tail): what a download does.</summary>
    public long WholeReads => Interlocked.Read(ref _wholeReads);

    public long RangedReads => Interlocked.Read(ref _rangedReads);

    public long Bytes => Interlocked.Read(ref _bytes);

    public void Reset()
    {
        Interlocked.Exchange(ref _wholeReads, 0);
        Interlocked.Exchange(ref _rangedReads, 0);
        Interlocked.Exchange(ref _bytes, 0);
    }

    public string Describe(string key) => _inner.Describe(key);

    public async ValueTask<IMemoryOwner<byte>?> ReadAsync(string key, long offset, long? length, long maxBytes, CancellationToken cancellationToken)
    {
        IMemoryOwner<byte>? owner = await _inner.ReadAsync(key, offset, length, maxBytes, cancellationToken);
        if (owner is not null)
        {
            Interlocked.Increment(ref length is null ? ref _wholeReads : ref _rangedReads);
        }

        Interlocked.Add(ref _bytes, owner?.Memory.Length ?? 0);
        return owner;
    }

    public ValueTask<long?> GetSizeAsync(string key, CancellationToken cancellationToken) => _inner.GetSizeAsync(key, cancellationToken);

    public IAsyncEnumerable<StorageEntry> ListAsync(string prefix, CancellationToken cancellationToken) => _inner.ListAsync(prefix, cancellationToken);
}
