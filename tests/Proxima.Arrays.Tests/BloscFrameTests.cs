using System.Diagnostics;
using System.Text.Json;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Codecs.Native;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>Blosc buffers made by numcodecs at test time (make_blosc_frames.py), with the bytes they hold.</summary>
public sealed class BloscFrames : IDisposable
{
    private readonly TempDir _dir = new();

    public BloscFrames()
    {
        Python.Run("make_blosc_frames.py", _dir.Path);
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, "manifest.json")));
        foreach (JsonElement c in manifest.RootElement.EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            Cases.Add(new BloscCase(
                name,
                File.ReadAllBytes(Path.Combine(_dir.Path, name + ".blosc")),
                File.ReadAllBytes(Path.Combine(_dir.Path, name + ".raw")),
                c.GetProperty("typesize").GetInt32(),
                c.GetProperty("flags").GetInt32(),
                c.GetProperty("blocksize").GetInt32()));
        }
    }

    public List<BloscCase> Cases { get; } = [];

    public void Dispose() => _dir.Dispose();
}

public sealed record BloscCase(string Name, byte[] Encoded, byte[] Raw, int TypeSize, int Flags, int BlockSize)
{
    /// <summary>What our own decoder takes: LZ4/LZ4HC, not memcpyed, no bit shuffle.</summary>
    public bool Ours => (Flags & 0x0e) == 0 && Flags >> 5 == 1;

    public bool Split => (Flags & 0x10) == 0;
}

/// <summary>The managed block decoder equals libblosc byte for byte on every block shape, and hands the rest to it.</summary>
public sealed class BloscFrameTests : IClassFixture<BloscFrames>
{
    private readonly BloscFrames _frames;

    public BloscFrameTests(BloscFrames frames)
    {
        _frames = frames;
    }

    [Fact]
    public void Item_ranges_decode_like_the_whole_buffer_on_and_off_block_boundaries()
    {
        // Ranges on block boundaries go through the managed decoder, others through blosc_getitem: both give the bytes.
        foreach (BloscCase c in _frames.Cases)
        {
            if (!BloscCodec.TryGetBlocks(c.Encoded, c.Raw.Length, out int blockBytes, out int typesize))
            {
                continue;
            }

            int blocks = (c.Raw.Length + blockBytes - 1) / blockBytes;
            var starts = new List<int> { 0, blockBytes * (blocks / 2), blockBytes * (blocks - 1) };
            if (c.Raw.Length > 3 * typesize)
            {
                starts.Add(typesize); // not on a boundary
            }

            foreach (int start in starts)
            {
                foreach (int length in new[] { blockBytes, 2 * blockBytes, c.Raw.Length - start, typesize * 3 })
                {
                    int n = Math.Min(length, c.Raw.Length - start) / typesize * typesize;
                    if (n <= 0)
                    {
                        continue;
                    }

                    var got = new byte[n];
                    BloscCodec.DecodeItems(c.Encoded, start / typesize, typesize, got);
                    Assert.True(c.Raw.AsSpan(start, n).SequenceEqual(got), $"{c.Name}: bytes {start}+{n}");
                }
            }
        }
    }

    [Fact]
    public void Every_numcodecs_buffer_decodes_byte_for_byte_like_libblosc()
    {
        var codec = new BloscCodec();
        int ours = 0;
        foreach (BloscCase c in _frames.Cases)
        {
            var viaLibblosc = new byte[c.Raw.Length];
            Assert.Equal(c.Raw.Length, BloscNative.Decompress(c.Encoded, viaLibblosc));
            Assert.True(c.Raw.AsSpan().SequenceEqual(viaLibblosc), c.Name + ": libblosc");

            Assert.Equal(c.Ours, BloscFrame.TryParse(c.Encoded, out _));
            ours += c.Ours ? 1 : 0;
            foreach (int threads in new[] { 1, 2 })
            {
                var decoded = new byte[c.Raw.Length];
                using (DecodeThreads.Use(threads))
                {
                    Assert.Equal(c.Raw.Length, codec.Decode(c.Encoded, decoded));
                }

                Assert.True(c.Raw.AsSpan().SequenceEqual(decoded), $"{c.Name}, {threads} threads");
            }
        }

        // The matrix covers split and unsplit blocks of every typesize, and the fallbacks.
        Assert.True(ours >= 60, $"only {ours} buffers took the managed path");
        Assert.Contains(_frames.Cases, c => c.Ours && !c.Split);
        Assert.Contains(_frames.Cases, c => c.Ours && c.Split && c.TypeSize == 8);
        Assert.Contains(_frames.Cases, c => !c.Ours);
    }

    [Fact]
    public void Element_reads_of_every_buffer_equal_the_decoded_bytes()
    {
        var codec = new BloscCodec();
        var rng = new Random(3);
        foreach (BloscCase c in _frames.Cases)
        {
            int ts = c.TypeSize;
            int items = c.Raw.Length / ts;
            int perBlock = Math.Max(1, c.BlockSize / ts);
            var patterns = new List<int[]>
            {
                Strided(items, 0, 64),                 // a point series in a time-contiguous chunk
                Strided(items, items - 1, 1),          // the very last element (leftover block)
                new[] { 0 },
                Strided(items, 0, perBlock),           // the first of every block
                Strided(items, perBlock - 1, perBlock), // the last of every block
                Strided(items, 0, 3),                  // dense enough to unshuffle whole blocks
            };
            var sparse = new SortedSet<int>();
            for (int i = 0; i < 50; i++)
            {
                sparse.Add(rng.Next(items));
            }

            patterns.Add([.. sparse]);
            foreach (int[] elements in patterns)
            {
                var dst = new byte[c.Raw.Length];
                int done = codec.DecodeElements(c.Encoded, elements, ts, dst);
                Assert.InRange(done, 1, c.Raw.Length);
                foreach (int e in elements)
                {
                    if (!c.Raw.AsSpan(e * ts, ts).SequenceEqual(dst.AsSpan(e * ts, ts)))
                    {
                        Assert.Fail($"{c.Name}: element {e} of {items} (pattern of {elements.Length}) differs");
                    }
                }
            }
        }
    }

    [Fact]
    public void Element_reads_skip_blocks_holding_no_element()
    {
        BloscCase c = _frames.Cases.First(c => c.Ours && c.Raw.Length / c.BlockSize >= 4);
        int perBlock = c.BlockSize / c.TypeSize;
        var dst = new byte[c.Raw.Length];
        int done = new BloscCodec().DecodeElements(c.Encoded, [1, (2 * perBlock) + 5], c.TypeSize, dst);
        Assert.Equal(2 * c.BlockSize, done);
    }

    [Fact]
    public unsafe void Unshuffle_vector_paths_match_the_scalar_reference_on_odd_lengths()
    {
        var rng = new Random(11);
        foreach (int ts in new[] { 1, 2, 3, 4, 5, 7, 8, 16, 20 })
        {
            foreach (int length in new[] { 0, 1, ts - 1, ts, 15 * ts, (16 * ts) + 1, (31 * ts) + 3, 32 * ts, (33 * ts) + 2, (1000 * ts) + 1, 131_075 })
            {
                if (length < 0)
                {
                    continue;
                }

                var src = new byte[length];
                rng.NextBytes(src);
                var got = new byte[length];
                ByteUnshuffle.Unshuffle(src, got, ts);
                var want = new byte[length];
                int n = length / ts;
                fixed (byte* s = src)
                fixed (byte* d = want)
                {
                    ByteUnshuffle.Scalar(s, n, ts, 0, n, d);
                }

                src.AsSpan(n * ts).CopyTo(want.AsSpan(n * ts));
                Assert.True(want.AsSpan().SequenceEqual(got), $"typesize {ts}, length {length}, path {ByteUnshuffle.Path}");

                // A range of items (a row of a block) lands whole at its own destination.
                int from = n / 3;
                int to = n - (n / 5);
                var part = new byte[(to - from) * ts];
                fixed (byte* s = src)
                fixed (byte* d = part)
                {
                    ByteUnshuffle.UnshuffleRange(s, n, ts, from, to, d);
                }

                Assert.True(want.AsSpan(from * ts, part.Length).SequenceEqual(part), $"typesize {ts}, items {from}..{to} of {n}, path {ByteUnshuffle.Path}");
            }
        }
    }

    [Fact]
    public void Reported_unshuffle_path_matches_the_environment()
    {
        string? expected = Environment.GetEnvironmentVariable("PROXIMA_EXPECT_UNSHUFFLE_PATH");
        if (expected is not null)
        {
            Assert.Equal(expected, ByteUnshuffle.Path);
        }
    }

    public static IEnumerable<object[]> Fallbacks() =>
    [
        [new[] { "DOTNET_EnableAVX2=0" }, "Vector128"],
        [new[] { "DOTNET_EnableHWIntrinsic=0" }, "Scalar"],
    ];

    /// <summary>Re-runs this class in a child test host with AVX2 (then all intrinsics) switched off.</summary>
    [Theory]
    [MemberData(nameof(Fallbacks))]
    public async Task Decoder_passes_with_hardware_intrinsics_switched_off(string[] env, string expectedPath)
    {
        if (Environment.GetEnvironmentVariable("PROXIMA_EXPECT_UNSHUFFLE_PATH") is not null)
        {
            return; // already the child
        }

        string dll = typeof(BloscFrameTests).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet", ["test", dll, "--filter", "FullyQualifiedName~BloscFrameTests", "--logger", "console;verbosity=minimal"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string kv in env)
        {
            string[] parts = kv.Split('=');
            psi.Environment[parts[0]] = parts[1];
        }

        psi.Environment["PROXIMA_EXPECT_UNSHUFFLE_PATH"] = expectedPath;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"child with {string.Join(" ", env)} failed:\n{output}");
        Assert.Contains("Passed!", output, StringComparison.Ordinal);
    }

    private static int[] Strided(int items, int first, int step)
    {
        var list = new List<int>();
        for (int e = first; e < items; e += step)
        {
            list.Add(e);
        }

        return [.. list];
    }
}
