using Google.Protobuf.Collections;
using Exec = Proxima.Compute.Execution;
using Wire = Proxima.Protocol.V1;

namespace Proxima.Shared;

/// <summary>
/// Maps Compute's mergeable partial results to and from their protobuf form (proxima.v1.PartialResult).
/// Linked as source into the worker (which sends them) and the router (which merges them).
/// </summary>
internal static class PartialResultMapping
{
    public static Wire.PartialResult ToWire(Exec.PartialResult partial, string unitId)
    {
        var wire = new Wire.PartialResult
        {
            Dataset = partial.Dataset,
            Variable = partial.Variable,
            UnitId = unitId,
            Grouping = partial.Grouping ?? "",
        };
        wire.Dims.Add(partial.Dims);
        foreach (var s in partial.Shape)
        {
            wire.Shape.Add(s);
        }

        foreach (var c in partial.Coords)
        {
            wire.Coords.Add(ToWire(c));
        }

        foreach (var c in partial.PointCoords)
        {
            wire.PointCoords.Add(ToWire(c));
        }

        foreach (var (k, v) in partial.Attrs)
        {
            wire.Attrs[k] = v;
        }

        if (partial.Kind == Exec.PartialKind.Moments)
        {
            var m = new Wire.Moments();
            m.Count.Add(partial.Count!);
            m.Sum.Add(partial.Sum!);
            m.M2.Add(partial.M2!);
            m.Min.Add(partial.Min!);
            m.Max.Add(partial.Max!);
            wire.Moments = m;
        }
        else
        {
            var values = new Wire.DoubleArray();
            values.Values.Add(partial.Values!);
            wire.Values = values;
        }

        wire.Stats = new Wire.UnitStats { Chunks = partial.ChunksDone, ChunksTotal = partial.ChunksTotal, BytesRead = partial.BytesRead };
        return wire;
    }

    public static Exec.PartialResult FromWire(Wire.PartialResult wire)
    {
        var shape = new int[wire.Shape.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = checked((int)wire.Shape[i]);
        }

        var coords = new Exec.ResultCoordinate[wire.Coords.Count];
        for (var i = 0; i < coords.Length; i++)
        {
            coords[i] = FromWire(wire.Coords[i]);
        }

        var pointCoords = new Exec.ResultCoordinate[wire.PointCoords.Count];
        for (var i = 0; i < pointCoords.Length; i++)
        {
            pointCoords[i] = FromWire(wire.PointCoords[i]);
        }

        var attrs = new Dictionary<string, string>(wire.Attrs, StringComparer.Ordinal);
        var isMoments = wire.Moments is not null;
        return new Exec.PartialResult
        {
            Dataset = wire.Dataset,
            Variable = wire.Variable,
            Kind = isMoments ? Exec.PartialKind.Moments : Exec.PartialKind.Values,
            Dims = [.. wire.Dims],
            Shape = shape,
            Coords = coords,
            PointCoords = pointCoords,
            Attrs = attrs,
            Grouping = wire.Grouping.Length == 0 ? null : wire.Grouping,
            Count = isMoments ? ToArray(wire.Moments!.Count) : null,
            Sum = isMoments ? ToArray(wire.Moments!.Sum) : null,
            M2 = isMoments ? ToArray(wire.Moments!.M2) : null,
            Min = isMoments ? ToArray(wire.Moments!.Min) : null,
            Max = isMoments ? ToArray(wire.Moments!.Max) : null,
            Values = isMoments ? null : ToArray(wire.Values?.Values ?? []),
            ChunksDone = (int)(wire.Stats?.Chunks ?? 0),
            ChunksTotal = (int)(wire.Stats?.ChunksTotal ?? 0),
            BytesRead = wire.Stats?.BytesRead ?? 0,
        };
    }

    private static Wire.Coordinate ToWire(Exec.ResultCoordinate c)
    {
        var wire = new Wire.Coordinate { Name = c.Name };
        wire.Keys.Add(c.Keys);
        if (c.Values is not null)
        {
            wire.Values.Add(c.Values);
        }

        if (c.Labels is not null)
        {
            wire.Labels.Add(c.Labels);
        }

        return wire;
    }

    private static Exec.ResultCoordinate FromWire(Wire.Coordinate wire) => new()
    {
        Name = wire.Name,
        Keys = ToArray(wire.Keys),
        Values = wire.Labels.Count > 0 && wire.Values.Count == 0 ? null : ToArray(wire.Values),
        Labels = wire.Labels.Count > 0 ? [.. wire.Labels] : null,
    };

    private static T[] ToArray<T>(RepeatedField<T> field)
    {
        var array = new T[field.Count];
        field.CopyTo(array, 0);
        return array;
    }
}
