using System.Collections.Immutable;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Zarr;

namespace Proxima.Arrays;

/// <summary>Storage format of a <see cref="GridDataset"/>.</summary>
public enum DatasetFormat
{
    ZarrV2,
    ZarrV3,
    NetCdf,
    NetCdfCollection,
    Kerchunk,
}

/// <summary>
/// A gridded dataset opened from storage, format auto-detected (Zarr v2 consolidated or not, Zarr v3):
/// variables by name, global attributes, coordinates found by CF rules.
/// </summary>
public sealed partial class GridDataset : IDisposable
{
    private readonly Dictionary<string, GridVariable> _byName;

    internal GridDataset(string location, DatasetFormat format, IReadOnlyDictionary<string, AttributeValue> attributes, IReadOnlyList<GridVariable> variables)
    {
        Location = location;
        Format = format;
        Attributes = attributes;
        Variables = variables;
        _byName = new Dictionary<string, GridVariable>(StringComparer.Ordinal);
        var dims = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (GridVariable v in variables)
        {
            _byName[v.Name] = v;
            for (int d = 0; d < v.Dims.Length; d++)
            {
                if (dims.TryGetValue(v.Dims[d], out long existing) && existing != v.Shape[d])
                {
                    throw new ArrayFormatException(location, $"dimension '{v.Dims[d]}' has length {existing} in one variable and {v.Shape[d]} in '{v.Name}'");
                }

                dims[v.Dims[d]] = v.Shape[d];
            }
        }

        Dimensions = dims;

        // A variable named after its only dimension is a coordinate variable; one without a recognised role gets None.
        var coordinateNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (GridVariable v in variables)
        {
            if (v.Dims.Length == 1 && v.Dims[0] == v.Name)
            {
                coordinateNames.Add(v.Name);
            }

            if (v.Attributes.TryGetValue("coordinates", out AttributeValue c))
            {
                foreach (string name in c.AsString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    coordinateNames.Add(name);
                }
            }
        }

        foreach (GridVariable v in variables)
        {
            if (!coordinateNames.Contains(v.Name) && v.Role != CoordinateRole.None && v.Dims.Length > 1)
            {
                v.Role = CoordinateRole.None;
            }
        }

        CoordinateNames = coordinateNames;
    }

    /// <summary>Native handles and temp files released by <see cref="Dispose"/> (NetCDF).</summary>
    internal IReadOnlyList<IDisposable> Owned { get; init; } = [];

    /// <summary>Closes NetCDF handles; Zarr datasets hold nothing.</summary>
    public void Dispose()
    {
        foreach (IDisposable d in Owned)
        {
            d.Dispose();
        }
    }

    /// <summary>Where the dataset lives (store root and path).</summary>
    public string Location { get; }

    public DatasetFormat Format { get; }

    /// <summary>Global (group) attributes.</summary>
    public IReadOnlyDictionary<string, AttributeValue> Attributes { get; }

    /// <summary>All variables (data and coordinates), in store order.</summary>
    public IReadOnlyList<GridVariable> Variables { get; }

    /// <summary>Dimension lengths by name.</summary>
    public IReadOnlyDictionary<string, long> Dimensions { get; }

    /// <summary>Names of coordinate variables (dimension coordinates and those listed in "coordinates" attributes).</summary>
    public IReadOnlySet<string> CoordinateNames { get; }

    /// <summary>Variables that are not coordinates.</summary>
    public IReadOnlyList<GridVariable> DataVariables
    {
        get
        {
            var list = new List<GridVariable>();
            foreach (GridVariable v in Variables)
            {
                if (!CoordinateNames.Contains(v.Name) && v.Role == CoordinateRole.None)
                {
                    list.Add(v);
                }
            }

            return list;
        }
    }

    /// <summary>The variable called <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> listing the names that exist.</summary>
    public GridVariable this[string name] => _byName.TryGetValue(name, out GridVariable? v)
        ? v
        : throw new KeyNotFoundException($"{Location}: no variable '{name}' (have: {string.Join(", ", _byName.Keys)})");

    public bool TryGetVariable(string name, out GridVariable variable) => _byName.TryGetValue(name, out variable!);

    /// <summary>
    /// The coordinate variable with <paramref name="role"/> that <paramref name="dataVariable"/> uses
    /// (or the dataset's first one when no variable is given); null when none.
    /// </summary>
    public GridVariable? FindCoordinate(CoordinateRole role, GridVariable? dataVariable = null)
    {
        if (dataVariable is not null)
        {
            foreach (string dim in dataVariable.Dims)
            {
                if (_byName.TryGetValue(dim, out GridVariable? c) && c.Role == role)
                {
                    return c;
                }
            }

            return null;
        }

        foreach (GridVariable v in Variables)
        {
            if (v.Role == role && v.Dims.Length == 1 && v.Dims[0] == v.Name)
            {
                return v;
            }
        }

        foreach (GridVariable v in Variables)
        {
            if (v.Role == role)
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>
    /// Opens the dataset at <paramref name="path"/> ("" for the storage root), detecting the format:
    /// Zarr v2 (.zmetadata, .zgroup or .zarray), Zarr v3 (zarr.json), a NetCDF-3/4 file, or a folder of
    /// NetCDF files aggregated along time, or kerchunk references (a .json file). Dispose the result to close NetCDF handles.
    /// Throws <see cref="ArrayFormatException"/> when nothing recognisable is there.
    /// </summary>
    public static async Task<GridDataset> OpenAsync(IStorage storage, string path, GridDatasetOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        options ??= GridDatasetOptions.Default;
        path = path.Trim('/');
        GridDataset? ds = await ZarrV2Reader.TryOpenAsync(storage, path, options, cancellationToken).ConfigureAwait(false);
        if (ds is not null)
        {
            return ds;
        }

        ds = await ZarrV3Reader.TryOpenAsync(storage, path, options, cancellationToken).ConfigureAwait(false);
        if (ds is not null)
        {
            return ds;
        }

        long? size = path.Length == 0 ? null : await storage.GetSizeAsync(path, cancellationToken).ConfigureAwait(false);
        if (size is not null && path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            var refs = await Kerchunk.KerchunkStorage.OpenAsync(storage, path, null, cancellationToken).ConfigureAwait(false);
            return await ZarrV2Reader.TryOpenAsync(refs, "", options, cancellationToken, DatasetFormat.Kerchunk).ConfigureAwait(false)
                ?? throw new ArrayFormatException(storage.Describe(path), "kerchunk references hold no Zarr v2 group or array");
        }

        if (size is not null)
        {
            return await NetCdf.NetCdfReader.OpenFileAsync(storage, path, options, cancellationToken).ConfigureAwait(false);
        }

        ds = await NetCdf.NetCdfReader.TryOpenCollectionAsync(storage, path, options, cancellationToken).ConfigureAwait(false);
        if (ds is not null)
        {
            return ds;
        }

        throw new ArrayFormatException(storage.Describe(path), "no Zarr (.zmetadata, .zgroup, .zarray, zarr.json) or NetCDF dataset found");
    }

    internal static ImmutableArray<string> DefaultDims(int rank)
    {
        var b = ImmutableArray.CreateBuilder<string>(rank);
        for (int i = 0; i < rank; i++)
        {
            b.Add("dim_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return b.MoveToImmutable();
    }
}
