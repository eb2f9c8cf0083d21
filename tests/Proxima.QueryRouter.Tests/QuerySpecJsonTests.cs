using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Grpc;

namespace Proxima.QueryRouter.Tests;

public sealed class QuerySpecJsonTests
{
    [Fact]
    public void A_protobuf_spec_reads_back_through_the_json_parser_with_ranges_lists_points_and_reduce()
    {
        var spec = new Protocol.V1.QuerySpec
        {
            Variable = "t2m",
            Transform = new Transform { Present = true, Scale = 1, Offset = -273.15, Units = "degC" },
            Reduce = new Reduce { Dims = { "time" }, Ops = { "mean", "std" }, Groupby = "time.month" },
            Output = new Output { Format = "csv" },
            AllowPartial = true,
            DeadlineMs = 5000,
        };
        spec.Datasets.Add("reanalysis/era5/t2m");
        spec.Select["time"] = new Selection { Range = new ValueRange { Start = "2000-01-01", End = "2000-12-31T23:00:00" } };
        spec.Select["level"] = new Selection { Values = new ValueList { Values = { "850", "500" } } };
        spec.Points.Add(new Point { Name = "Sydney", Lat = -33.87, Lon = 151.21 });

        var parsed = QuerySpecParser.Parse(QuerySpecJson.ToUtf8(spec));

        Assert.Equal(["reanalysis/era5/t2m"], parsed.Datasets);
        var time = parsed.Select.Single(s => s.Dim == "time");
        Assert.True(time.IsRange);
        Assert.Equal("2000-01-01", time.Start!.Value.Text);
        var level = parsed.Select.Single(s => s.Dim == "level");
        Assert.False(level.IsRange);
        Assert.Equal([850.0, 500.0], level.Values!.Select(v => v.Number));
        Assert.Equal("Sydney", Assert.Single(parsed.Points).Name);
        Assert.Equal(-273.15, parsed.Transform!.Offset);
        Assert.Equal([ReduceOp.Mean, ReduceOp.Std], parsed.Reduce!.Ops);
        Assert.Equal(TimeGrouping.Month, parsed.Reduce.GroupBy);
        Assert.Equal(OutputFormat.Csv, parsed.Output.Format);
        Assert.True(parsed.AllowPartial);
        Assert.Equal(5000, parsed.DeadlineMs);
    }
}
