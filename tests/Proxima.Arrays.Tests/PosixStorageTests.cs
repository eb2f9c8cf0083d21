using System.Buffers;
using System.Text;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

public sealed class PosixStorageTests : IDisposable
{
    private readonly TempDir _outer = new();
    private readonly string _root;
    private readonly PosixStorage _storage;

    public PosixStorageTests()
    {
        _root = Path.Combine(_outer.Path, "root");
        Directory.CreateDirectory(Path.Combine(_root, "a", "b"));
        File.WriteAllText(Path.Combine(_root, "a", "b", "obj"), "0123456789");
        File.WriteAllText(Path.Combine(_outer.Path, "secret"), "outside");
        Directory.CreateDirectory(Path.Combine(_outer.Path, "outside-dir"));
        File.WriteAllText(Path.Combine(_outer.Path, "outside-dir", "x"), "outside");
        File.CreateSymbolicLink(Path.Combine(_root, "escape-file"), Path.Combine(_outer.Path, "secret"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape-dir"), Path.Combine(_outer.Path, "outside-dir"));
        File.CreateSymbolicLink(Path.Combine(_root, "inside-link"), Path.Combine(_root, "a", "b", "obj"));
        _storage = new PosixStorage(_root);
    }

    public void Dispose() => _outer.Dispose();

    [Fact]
    public async Task Reads_whole_objects_and_ranges()
    {
        Assert.Equal("0123456789", Encoding.ASCII.GetString((await _storage.ReadAllBytesAsync("a/b/obj"))!));
        Assert.Equal("345", Encoding.ASCII.GetString((await _storage.ReadRangeAsync("a/b/obj", 3, 3))!));
        Assert.Equal("89", Encoding.ASCII.GetString((await _storage.ReadRangeAsync("a/b/obj", 8, 5))!));
        Assert.Equal(10, await _storage.GetSizeAsync("a/b/obj", CancellationToken.None));
    }

    [Fact]
    public async Task Large_reads_are_memory_mapped_and_equal_the_file_at_any_offset()
    {
        var bytes = new byte[(3 << 20) + 4097];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(_root, "big"), bytes);
        var mapped = new PosixStorage(_root, mapThreshold: 1 << 20);
        Assert.Equal(PosixStorage.DefaultMapThreshold, _storage.MapThreshold);
        foreach ((long offset, long? length) in new (long, long?)[] { (0, null), (4095, (2 << 20) + 3), (12345, null), (bytes.Length - (1 << 20), 1 << 20) })
        {
            using IMemoryOwner<byte> owner = (await mapped.ReadAsync("big", offset, length, long.MaxValue, CancellationToken.None))!;
            int want = (int)(length ?? (bytes.Length - offset));
            Assert.Equal(want, owner.Memory.Length);
            Assert.True(owner.Memory.Span.SequenceEqual(bytes.AsSpan((int)offset, want)));
            using MemoryHandle pin = owner.Memory[7..].Pin();
            unsafe
            {
                Assert.Equal(bytes[offset + 7], *(byte*)pin.Pointer);
            }
        }

        // Below the threshold (and for the tail past the end) the read is a pooled copy; a copying storage never maps.
        using IMemoryOwner<byte> small = (await mapped.ReadAsync("big", bytes.Length - 10, null, long.MaxValue, CancellationToken.None))!;
        Assert.True(small.Memory.Span.SequenceEqual(bytes.AsSpan(bytes.Length - 10)));
        var copying = new PosixStorage(_root, mapThreshold: long.MaxValue);
        Assert.Equal(bytes, await copying.ReadAllBytesAsync("big"));

        // Disposed mapped memory is unmapped: using it again is an ObjectDisposedException, not a fault.
        IMemoryOwner<byte> gone = (await mapped.ReadAsync("big", 0, null, long.MaxValue, CancellationToken.None))!;
        Memory<byte> memory = gone.Memory;
        gone.Dispose();
        gone.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Span[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PosixStorage(_root, mapThreshold: 0));
    }

    [Fact]
    public async Task Missing_objects_are_null_not_errors()
    {
        Assert.Null(await _storage.ReadAllBytesAsync("a/b/none"));
        Assert.Null(await _storage.ReadAllBytesAsync("no/such/dir/obj"));
        Assert.Null(await _storage.GetSizeAsync("a/none", CancellationToken.None));
        Assert.Null(await _storage.ReadAllBytesAsync("a"));
    }

    [Theory]
    [InlineData("../secret")]
    [InlineData("a/../../secret")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\..\\secret")]
    public async Task Keys_escaping_the_root_are_refused(string key)
    {
        StorageException e = await Assert.ThrowsAsync<StorageException>(async () => await _storage.ReadAllBytesAsync(key));
        Assert.Contains(_storage.Root, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("escape-file")]
    [InlineData("escape-dir/x")]
    public async Task Symlinks_leading_outside_the_root_are_refused(string key)
    {
        StorageException e = await Assert.ThrowsAsync<StorageException>(async () => await _storage.ReadAllBytesAsync(key));
        Assert.Contains("symlink", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Symlinks_inside_the_root_are_followed()
    {
        Assert.Equal("0123456789", Encoding.ASCII.GetString((await _storage.ReadAllBytesAsync("inside-link"))!));
    }

    [Fact]
    public async Task Listing_shows_children_and_hides_escaping_symlinks()
    {
        var names = new List<string>();
        await foreach (StorageEntry e in _storage.ListAsync("", CancellationToken.None))
        {
            names.Add(e.Name + (e.IsPrefix ? "/" : ""));
        }

        Assert.Equal(["a/", "inside-link"], names);
        var sub = new List<StorageEntry>();
        await foreach (StorageEntry e in _storage.ListAsync("a/b", CancellationToken.None))
        {
            sub.Add(e);
        }

        Assert.Equal("a/b/obj", Assert.Single(sub).Key);
        Assert.Equal(10, sub[0].Size);
    }

    [Fact]
    public async Task Objects_larger_than_the_bound_are_refused_before_reading()
    {
        StorageException e = await Assert.ThrowsAsync<StorageException>(async () =>
        {
            using IMemoryOwner<byte>? owner = await _storage.ReadAsync("a/b/obj", 0, null, 5, CancellationToken.None);
        });
        Assert.Contains("a/b/obj", e.Message, StringComparison.Ordinal);
    }
}
