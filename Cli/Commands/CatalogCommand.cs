using System.CommandLine;
using System.Globalization;
using Proxima.Catalog;
using Proxima.Catalog.Search;
using Proxima.Catalog.Sqlite;
using Proxima.Cli.Local;

namespace Proxima.Cli.Commands;

/// <summary><c>proxima catalog</c>: search and inspect the catalog of the state folder.</summary>
internal static class CatalogCommand
{
    public static Command Create()
    {
        var command = new Command("catalog", """
            Searches the catalog that 'proxima sync' / 'proxima up' maintain.

            Examples:
              proxima catalog search --bbox 150,-35,152,-33 --time 2000-01-01/2000-12-31
              proxima catalog search --variable air_temperature --json
              proxima catalog regions
            """);
        command.Subcommands.Add(CreateSearch());
        command.Subcommands.Add(CreateRegions());
        return command;
    }

    private static Command CreateSearch()
    {
        var bbox = new Option<string?>("--bbox") { Description = "w,s,e,n in degrees; w > e crosses the antimeridian; either longitude convention" };
        var time = new Option<string?>("--time", "--datetime") { Description = "ISO interval a/b; '..' for an open end (2001-01-01/2001-12-31, 2090-01-01/..)" };
        var text = new Option<string?>("--q") { Description = "Free text over ids, variable names and titles" };
        var variable = new Option<string?>("--variable") { Description = "Variable name or CF standard_name" };
        var region = new Option<string?>("--region") { Description = "Only datasets in this region" };
        var limit = new Option<int>("--limit") { Description = "Most results", DefaultValueFactory = _ => 50 };
        var json = new Option<bool>("--json") { Description = "Print the STAC ItemCollection JSON instead of a table" };
        var state = CommonOptions.State();
        var command = new Command("search", """
            Finds datasets by bounding box, time, text and variable.

            Examples:
              proxima catalog search --bbox 150,-35,152,-33 --time 2000-01-01/2000-12-31
              proxima catalog search --variable air_temperature --json
            """)
        {
            bbox, time, text, variable, region, limit, json, state,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var parameters = new List<KeyValuePair<string, string?>>
            {
                new("bbox", parse.GetValue(bbox)),
                new("datetime", parse.GetValue(time)),
                new("q", parse.GetValue(text)),
                new("variable", parse.GetValue(variable)),
                new("region", parse.GetValue(region)),
                new("limit", parse.GetValue(limit).ToString(CultureInfo.InvariantCulture)),
            };
            parameters.RemoveAll(static p => p.Value is null);
            DatasetQuery query;
            try
            {
                query = SearchParameters.Parse(parameters);
            }
            catch (CatalogQueryException ex)
            {
                // The catalog names its HTTP parameters; the options are --bbox, --time (alias --datetime), --q, ...
                await Console.Error.WriteLineAsync($"error: --{(ex.Parameter == "datetime" ? "time" : ex.Parameter)}: {ex.Message}");
                return 2;
            }

            var stateDir = new StateDirectory(parse.GetValue(state)!);
            if (!File.Exists(stateDir.CatalogPath))
            {
                await Console.Error.WriteLineAsync($"error: no catalog at {stateDir.CatalogPath}: run 'proxima sync' or 'proxima up' first (same --state)");
                return 2;
            }

            await using var catalog = await SqliteCatalog.OpenAsync(stateDir.CatalogPath, cancellationToken: cancellationToken);
            var page = await catalog.SearchAsync(query, cancellationToken);
            if (parse.GetValue(json))
            {
                var body = StacWriter.ItemCollectionToUtf8(page, new Uri("proxima://catalog/v1/datasets"));
                await using var stdout = Console.OpenStandardOutput();
                await stdout.WriteAsync(body, cancellationToken);
                await Console.Out.WriteLineAsync();
                return 0;
            }

            PrintTable(page);
            return 0;
        });
        return command;
    }

    private static Command CreateRegions()
    {
        var state = CommonOptions.State();
        var command = new Command("regions", """
            Lists the regions in the catalog with their dataset counts and last sync.

            Examples:
              proxima catalog regions
              proxima catalog regions --state /srv/proxima
            """)
        {
            state,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var stateDir = new StateDirectory(parse.GetValue(state)!);
            if (!File.Exists(stateDir.CatalogPath))
            {
                await Console.Error.WriteLineAsync($"error: no catalog at {stateDir.CatalogPath}");
                return 2;
            }

            await using var catalog = await SqliteCatalog.OpenAsync(stateDir.CatalogPath, cancellationToken: cancellationToken);
            foreach (var r in await catalog.ListRegionsAsync(cancellationToken))
            {
                var report = await catalog.GetLastReportAsync(r.Region, cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Region,-16} {r.Datasets,8} datasets  run {r.LiveRun}  committed {r.CommittedUtc:u}  last: {report?.Status} ({report?.Errors.Count ?? 0} errors)"));
            }

            return 0;
        });
        return command;
    }

    private static void PrintTable(SearchPage page)
    {
        Console.WriteLine($"{page.NumberMatched} dataset(s) match; showing {page.Items.Count}");
        foreach (var d in page.Items)
        {
            var time = d.Time is null ? "-" : $"{d.Time.Start} .. {d.Time.End} ({d.Time.Calendar})";
            var variables = string.Join(",", d.Variables.Select(static v => v.Name));
            Console.WriteLine($"{d.Id}  [{d.Region}]  bbox {d.Bbox?.ToString() ?? "-"}  time {time}  vars {variables}");
        }

        if (page.NextToken is not null)
        {
            Console.WriteLine("(more: raise --limit)");
        }
    }
}
