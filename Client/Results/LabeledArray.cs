namespace Proxima.Client;

/// <summary>
/// An n-d array of doubles with named dimensions (row-major, NaN where xarray has NaN), one per op of a
/// result: <c>mean</c>, <c>std</c>, ... or <c>values</c> without a reduction.
/// </summary>
public sealed class LabeledArray
{
    private readonly double[] _data;
    private readonly int[] _shape;
    private readonly string[] _dims;

    internal LabeledArray(string name, string[] dims, int[] shape, double[] data)
    {
        var size = 1L;
        foreach (var n in shape)
        {
            size *= n;
        }

        if (dims.Length != shape.Length || size != data.Length)
        {
            throw new ProximaException($"Result '{name}' has {data.Length} values for dims [{string.Join(", ", dims)}] of shape [{string.Join(", ", shape)}].");
        }

        Name = name;
        _dims = dims;
        _shape = shape;
        _data = data;
    }

    /// <summary>The op (<c>mean</c>, <c>std</c>, <c>values</c>, ...).</summary>
    public string Name { get; }

    /// <summary>Dimension names, outermost first.</summary>
    public IReadOnlyList<string> Dims => _dims;

    /// <summary>Length of each dimension.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of values.</summary>
    public int Length => _data.Length;

    /// <summary>All values, row-major.</summary>
    public ReadOnlySpan<double> Span => _data;

    /// <summary>The value at one index per dimension.</summary>
    public double this[params int[] index] => _data[Offset(index)];

    /// <summary>A copy of the values, row-major.</summary>
    public double[] ToArray() => (double[])_data.Clone();

    /// <summary>A copy as a 2-d array (rank must be 2), for example a <c>[lat, lon]</c> map.</summary>
    public double[,] ToArray2D()
    {
        if (Rank != 2)
        {
            throw new InvalidOperationException($"'{Name}' has {Rank} dims [{string.Join(", ", _dims)}]; ToArray2D needs 2.");
        }

        var result = new double[_shape[0], _shape[1]];
        Buffer.BlockCopy(_data, 0, result, 0, _data.Length * sizeof(double));
        return result;
    }

    /// <summary>Size of dimension <paramref name="dim"/>.</summary>
    public int SizeOf(string dim) => _shape[IndexOfDim(dim)];

    /// <summary>The slab at <paramref name="index"/> along <paramref name="dim"/>, with that dim dropped
    /// (xarray's <c>.isel(dim=index)</c>), for example one point's time series.</summary>
    public LabeledArray Isel(string dim, int index)
    {
        var axis = IndexOfDim(dim);
        if ((uint)index >= (uint)_shape[axis])
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"'{dim}' has {_shape[axis]} entries.");
        }

        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= _shape[i];
        }

        var inner = 1;
        for (var i = axis + 1; i < _shape.Length; i++)
        {
            inner *= _shape[i];
        }

        var result = new double[outer * inner];
        for (var o = 0; o < outer; o++)
        {
            Array.Copy(_data, ((o * _shape[axis]) + index) * inner, result, o * inner, inner);
        }

        var dims = new string[_dims.Length - 1];
        var shape = new int[_shape.Length - 1];
        for (int i = 0, j = 0; i < _dims.Length; i++)
        {
            if (i != axis)
            {
                dims[j] = _dims[i];
                shape[j++] = _shape[i];
            }
        }

        return new LabeledArray(Name, dims, shape, result);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}({string.Join(", ", _dims)}) shape [{string.Join(", ", _shape)}]";

    private int IndexOfDim(string dim)
    {
        var axis = Array.IndexOf(_dims, dim);
        return axis >= 0 ? axis : throw new ArgumentException($"'{Name}' has no dimension '{dim}' (dims: {string.Join(", ", _dims)}).", nameof(dim));
    }

    private int Offset(int[] index)
    {
        if (index.Length != _shape.Length)
        {
            throw new ArgumentException($"'{Name}' has {Rank} dims; got {index.Length} indices.", nameof(index));
        }

        var offset = 0;
        for (var i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)_shape[i])
            {
                throw new IndexOutOfRangeException($"index {index[i]} is outside '{_dims[i]}' (size {_shape[i]}).");
            }

            offset = (offset * _shape[i]) + index[i];
        }

        return offset;
    }
}
