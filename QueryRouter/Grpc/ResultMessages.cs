using Proxima.Compute.Execution;
using Proxima.Protocol.V1;

namespace Proxima.QueryRouter.Grpc;

/// <summary>Final results as protobuf messages for gRPC clients (the same content as the JSON answer).</summary>
internal static class ResultMessages
{
    public static QueryResponse ToResponse(QueryAnswer answer)
    {
        var response = new QueryResponse { Stats = answer.Stats };
        foreach (var r in answer.Results)
        {
            response.Results.Add(ToMessage(r));
        }

        return response;
    }

    private static DatasetResult ToMessage(QueryResult r)
    {
        var message = new DatasetResult { Dataset = r.Dataset, Variable = r.Variable, Partial = r.Partial };
        message.Dims.Add(r.Dims);
        foreach (var s in r.Shape)
        {
            message.Shape.Add(s);
        }

        foreach (var c in r.Coords)
        {
            message.Coords.Add(ToMessage(c));
        }

        foreach (var c in r.PointCoords)
        {
            message.Coords.Add(ToMessage(c));
        }

        foreach (var (op, values) in r.Data)
        {
            var array = new DoubleArray();
            array.Values.Add(values);
            message.Data[op] = array;
        }

        foreach (var (k, v) in r.Attrs)
        {
            message.Attrs[k] = v;
        }

        message.Missing.Add(r.Missing);
        return message;
    }

    private static Coordinate ToMessage(ResultCoordinate c)
    {
        var message = new Coordinate { Name = c.Name };
        if (c.Values is not null)
        {
            message.Values.Add(c.Values);
        }

        if (c.Labels is not null)
        {
            message.Labels.Add(c.Labels);
        }

        return message;
    }
}
