using System.Buffers.Binary;
using System.Text;

namespace Proxima.Arrays.NetCdf;

/// <summary>
/// The header of a NetCDF-3 file (CDF-1 classic, CDF-2 64-bit offset, CDF-5 64-bit data), parsed only for
/// where each variable's data begins: non-record variables are contiguous at <c>begin</c>, record variables
/// hold one slab per record at <c>begin + r * recsize</c>. All data are big-endian. The indexes are checked
/// against what libnetcdf reported (type, shape) and against the file's size.
/// </summary>
internal static class ClassicHeader
{
    private const int TagDimension = 10;
    private const int TagVariable = 11;
    private const int TagAttribute = 12;
    private const long MaxHeaderBytes = 64L * 1024 * 1024;

    /// <summary>One index per variable (null where the header disagrees with libnetcdf), from the file at <paramref name="path"/>.</summary>
    public static NcChunkIndex?[] Build(string path, string location, IReadOnlyList<NcVariableInfo> variables)
    {
        var result = new NcChunkIndex?[variables.Count];
        using FileStream stream = File.OpenRead(path);
        long fileSize = stream.Length;
        int want = (int)Math.Min(fileSize, 1L << 20);
        while (true)
        {
            byte[] head = new byte[want];
            stream.Position = 0;
            stream.ReadExactly(head);
            var parser = new Parser(head);
            try
            {
                List<Var> vars = parser.Parse();
                Fill(vars, parser, location, variables, fileSize, result);
                return result;
            }
            catch (NeedMoreException) when (want < fileSize && want < MaxHeaderBytes)
            {
                want = (int)Math.Min(Math.Min(fileSize, MaxHeaderBytes), (long)want * 8);
            }
            catch (NeedMoreException)
            {
                throw new ArrayFormatException(location, "NetCDF-3 header runs past the end of the file");
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                // A header we do not follow: libnetcdf reads these variables, as before.
                return result;
            }
        }
    }

    private static void Fill(List<Var> vars, Parser parser, string location, IReadOnlyList<NcVariableInfo> variables, long fileSize, NcChunkIndex?[] result)
    {
        // netcdf-c's recsize: the record variables' per-record sizes padded to 4, except a single record
        // variable, whose records are packed unpadded (NC_computeshapes).
        long recsize = 0;
        Var? firstRecord = null;
        foreach (Var v in vars)
        {
            if (v.IsRecord)
            {
                firstRecord ??= v;
                recsize += Pad4(v.SlabBytes);
            }
        }

        if (firstRecord is not null && recsize == Pad4(firstRecord.SlabBytes))
        {
            recsize = firstRecord.SlabBytes;
        }

        var byName = new Dictionary<string, Var>(StringComparer.Ordinal);
        foreach (Var v in vars)
        {
            byName[v.Name] = v;
        }

        for (int i = 0; i < variables.Count; i++)
        {
            NcVariableInfo info = variables[i];
            if (!byName.TryGetValue(info.Name, out Var? v) || NetCdfNative.ToDataType(v.Type) != info.Type || info.Type == DataType.Unsupported
                || v.Rank != info.Shape.Length)
            {
                continue;
            }

            long records = v.IsRecord ? info.Shape[0] : 1;
            if (v.IsRecord && records != parser.NumRecords)
            {
                continue;
            }

            long slab = 1;
            for (int d = v.IsRecord ? 1 : 0; d < info.Shape.Length; d++)
            {
                slab *= info.Shape[d];
            }

            slab *= info.Type.Size();
            if (slab != v.SlabBytes)
            {
                continue;
            }

            long end = records == 0 ? v.Begin : v.Begin + ((records - 1) * (v.IsRecord ? recsize : 0)) + slab;
            if (v.Begin < 0 || end > fileSize || end < v.Begin)
            {
                throw new ArrayFormatException(location + ":" + info.Name, $"data at byte {v.Begin} (to {end}) lies past the end of the {fileSize}-byte file (truncated NetCDF file)");
            }

            result[i] = new NcChunkIndex { FileSize = fileSize, ElementSize = info.Type.Size(), BigEndian = true, Begin = v.Begin, RecordStride = v.IsRecord ? recsize : 0 };
        }
    }

    private static long Pad4(long n) => (n + 3) / 4 * 4;

    private sealed record Var(string Name, int Type, int Rank, bool IsRecord, long SlabBytes, long Begin);

    private sealed class NeedMoreException : Exception
    {
    }

    private ref struct Parser
    {
        private readonly ReadOnlySpan<byte> _b;
        private readonly bool _v5;
        private readonly bool _offset64;
        private int _pos;

        public Parser(ReadOnlySpan<byte> bytes)
        {
            _b = bytes;
            if (bytes.Length < 4 || bytes[0] != 'C' || bytes[1] != 'D' || bytes[2] != 'F' || bytes[3] is not (1 or 2 or 5))
            {
                throw new NeedMoreException();
            }

            _v5 = bytes[3] == 5;
            _offset64 = bytes[3] != 1;
            _pos = 4;
            NumRecords = 0;
        }

        public long NumRecords { get; private set; }

        public List<Var> Parse()
        {
            NumRecords = Size();
            var dimLengths = new List<long>();
            int tag = Int();
            long n = Size();
            if (tag != 0 && tag != TagDimension)
            {
                throw new FormatException("bad dimension list tag");
            }

            for (long i = 0; i < n; i++)
            {
                Name();
                dimLengths.Add(Size());
            }

            SkipAttributes();
            tag = Int();
            n = Size();
            if (tag != 0 && tag != TagVariable)
            {
                throw new FormatException("bad variable list tag");
            }

            var vars = new List<Var>();
            for (long i = 0; i < n; i++)
            {
                string name = Name();
                long rank = Size();
                if (rank > 1024)
                {
                    throw new FormatException("too many dimensions");
                }

                bool record = false;
                long slab = 1;
                for (long d = 0; d < rank; d++)
                {
                    long id = Size();
                    if (id < 0 || id >= dimLengths.Count)
                    {
                        throw new FormatException("bad dimension id");
                    }

                    if (d == 0 && dimLengths[(int)id] == 0)
                    {
                        record = true;
                    }
                    else
                    {
                        slab = checked(slab * dimLengths[(int)id]);
                    }
                }

                SkipAttributes();
                int type = Int();
                Size(); // vsize: recomputed from the shape, as netcdf-c does
                long begin = _offset64 ? Int64() : (uint)Int();
                vars.Add(new Var(name, type, (int)rank, record, checked(slab * Math.Max(1, TypeSize(type))), begin));
            }

            return vars;
        }

        private void SkipAttributes()
        {
            int tag = Int();
            long n = Size();
            if (tag != 0 && tag != TagAttribute)
            {
                throw new FormatException("bad attribute list tag");
            }

            for (long i = 0; i < n; i++)
            {
                Name();
                int type = Int();
                long count = Size();
                Skip(Pad4(checked(count * Math.Max(1, TypeSize(type)))));
            }
        }

        private static int TypeSize(int type) => type switch
        {
            1 or 2 or 7 => 1,
            3 or 8 => 2,
            4 or 5 or 9 => 4,
            6 or 10 or 11 => 8,
            _ => throw new FormatException($"unknown nc_type {type}"),
        };

        private string Name()
        {
            long n = Size();
            if (n > 65536)
            {
                throw new FormatException("name too long");
            }

            Need(n);
            string s = Encoding.UTF8.GetString(_b.Slice(_pos, (int)n));
            Skip(Pad4(n));
            return s;
        }

        private void Need(long n)
        {
            if (n < 0 || _pos + n > _b.Length)
            {
                throw new NeedMoreException();
            }
        }

        private void Skip(long n)
        {
            Need(n);
            _pos += (int)n;
        }

        private int Int()
        {
            Need(4);
            int v = BinaryPrimitives.ReadInt32BigEndian(_b[_pos..]);
            _pos += 4;
            return v;
        }

        private long Int64()
        {
            Need(8);
            long v = BinaryPrimitives.ReadInt64BigEndian(_b[_pos..]);
            _pos += 8;
            return v;
        }

        /// <summary>NON_NEG: 4 bytes, 8 in CDF-5.</summary>
        private long Size()
        {
            long v = _v5 ? Int64() : (uint)Int();
            if (v < 0)
            {
                throw new FormatException("negative size");
            }

            return v;
        }
    }
}
