namespace Proxima.Arrays;

/// <summary>Element type of stored (or decoded) numeric data.</summary>
public enum DataType
{
    Bool,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float16,
    Float32,
    Float64,

    /// <summary>Strings, structured records, complex numbers, datetimes: listed but not readable as numbers.</summary>
    Unsupported,
}

/// <summary>Size and NumPy naming of <see cref="DataType"/>.</summary>
public static class DataTypes
{
    /// <summary>Bytes per element (0 for <see cref="DataType.Unsupported"/>).</summary>
    public static int Size(this DataType t) => t switch
    {
        DataType.Bool or DataType.Int8 or DataType.UInt8 => 1,
        DataType.Int16 or DataType.UInt16 or DataType.Float16 => 2,
        DataType.Int32 or DataType.UInt32 or DataType.Float32 => 4,
        DataType.Int64 or DataType.UInt64 or DataType.Float64 => 8,
        _ => 0,
    };

    /// <summary>NumPy name: "float32", "int16", "bool"...</summary>
    public static string NumpyName(this DataType t) => t switch
    {
        DataType.Bool => "bool",
        DataType.Int8 => "int8",
        DataType.UInt8 => "uint8",
        DataType.Int16 => "int16",
        DataType.UInt16 => "uint16",
        DataType.Int32 => "int32",
        DataType.UInt32 => "uint32",
        DataType.Int64 => "int64",
        DataType.UInt64 => "uint64",
        DataType.Float16 => "float16",
        DataType.Float32 => "float32",
        DataType.Float64 => "float64",
        _ => "object",
    };

    /// <summary>True for integer and bool types.</summary>
    public static bool IsInteger(this DataType t) => t is >= DataType.Bool and <= DataType.UInt64;

    /// <summary>True for float16/32/64.</summary>
    public static bool IsFloat(this DataType t) => t is DataType.Float16 or DataType.Float32 or DataType.Float64;

    /// <summary>Parses a NumPy name ("float32", "int16", "uint8", "bool"); null when unknown.</summary>
    public static DataType? FromNumpyName(string name) => name switch
    {
        "bool" => DataType.Bool,
        "int8" => DataType.Int8,
        "uint8" => DataType.UInt8,
        "int16" => DataType.Int16,
        "uint16" => DataType.UInt16,
        "int32" => DataType.Int32,
        "uint32" => DataType.UInt32,
        "int64" => DataType.Int64,
        "uint64" => DataType.UInt64,
        "float16" => DataType.Float16,
        "float32" => DataType.Float32,
        "float64" => DataType.Float64,
        _ => null,
    };

    /// <summary>
    /// Parses a NumPy array-protocol typestr as Zarr v2 writes it ("&lt;f4", "&gt;i2", "|u1", "|b1").
    /// Returns false for types that are not plain numbers.
    /// </summary>
    public static bool TryParseTypestr(string typestr, out DataType type, out bool bigEndian)
    {
        type = DataType.Unsupported;
        bigEndian = false;
        if (typestr.Length < 3)
        {
            return false;
        }

        char order = typestr[0];
        if (order is not ('<' or '>' or '|' or '='))
        {
            return false;
        }

        bigEndian = order == '>';
        string rest = typestr[1..];
        type = rest switch
        {
            "b1" => DataType.Bool,
            "i1" => DataType.Int8,
            "u1" => DataType.UInt8,
            "i2" => DataType.Int16,
            "u2" => DataType.UInt16,
            "i4" => DataType.Int32,
            "u4" => DataType.UInt32,
            "i8" => DataType.Int64,
            "u8" => DataType.UInt64,
            "f2" => DataType.Float16,
            "f4" => DataType.Float32,
            "f8" => DataType.Float64,
            _ => DataType.Unsupported,
        };
        if (type.Size() == 1)
        {
            bigEndian = false;
        }

        return type != DataType.Unsupported;
    }
}
