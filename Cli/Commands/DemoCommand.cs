using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Proxima.Cli.Local;

namespace Proxima.Cli.Commands;

/// <summary>
/// <c>proxima demo</c>: sample ERA5-like data in one region and CMIP6-like data in another, a local
/// federation with emulated cross-region links, a sync, example queries, and a summary.
/// </summary>
internal static class DemoCommand
{
    private const string Python = "/usr/bin/python3";

    public static Command Create()
    {
        var state = CommonOptions.State();
        var config = CommonOptions.Config();
        var dataRoot = new Option<string?>("--data-root") { Description = "Where the sample data goes (default: STATE/demo-data)" };
        var keep = new Option<bool>("--keep-running") { Description = "Leave the federation running after the summary (Ctrl-C to stop)" };
        var command = new Command("demo", """
            Makes sample data (if absent), starts a local federation (router + a worker per region, with
            emulated cross-region links), syncs the catalog, runs one query per region and one over both,
            and prints results, per-region timings, and bytes read versus bytes that crossed regions.

            Examples:
              proxima demo                       run, print the summary, stop
              proxima demo --keep-running        then leave it running for the README snippets and notebooks
            """)
        {
            state, config, dataRoot, keep,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var signal = new ShutdownSignal(cancellationToken);
            var stateDir = new StateDirectory(parse.GetValue(state)!);
            try
            {
                return await RunAsync(stateDir, parse.GetValue(config)!, parse.GetValue(dataRoot), parse.GetValue(keep), signal.Token);
            }
            catch (FederationFileException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(StateDirectory state, string configPath, string? dataRootOption, bool keepRunning, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        state.Create();
        using var loggers = ConsoleLogging.Create(LogLevel.Warning);
        var federationFile = FederationFile.Load(configPath);
        var era5Region = federationFile.Workers[0].Region;
        var cmip6Region = federationFile.Workers.Count > 1 ? federationFile.Workers[1].Region : era5Region;
        var dataRoot = Path.GetFullPath(dataRootOption ?? Path.Combine(state.Root, "demo-data"));

        Console.WriteLine($"Proxima demo: client region {federationFile.Client.Region}; ERA5-like data in {era5Region}, CMIP6-like data in {cmip6Region}");
        await EnsureSampleDataAsync(dataRoot, era5Region, cmip6Region, cancellationToken);

        var options = new LocalFederationOptions { ConfigPath = configPath, DataRoot = dataRoot, State = state, RouterPort = 0 };
        Console.WriteLine($"[2/4] starting the federation (links: {options.Link})...");
        await using var federation = await LocalFederation.StartAsync(options, loggers, cancellationToken);
        var running = federation.Running!;
        Console.WriteLine($"      router {running.RouterUrl}; {running.Workers.Count} worker(s)");

        Console.WriteLine("[3/4] syncing the catalog of every region...");
        foreach (var region in federationFile.Workers)
        {
            var report = await CatalogSyncRunner.SyncRegionAsync(state, region.Region, Path.Combine(dataRoot, region.Region), loggers, progress: null, cancellationToken);
            Console.WriteLine($"      {region.Region}: {CatalogSyncRunner.Describe(report)}");
        }

        Console.WriteLine("[4/4] running example queries...");
        var queriesDir = Path.Combine(AppContext.BaseDirectory, "Demo", "queries");
        var router = new Uri(running.RouterUrl);
        using var http = new HttpClient { BaseAddress = router, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(federation.TokenPath, cancellationToken)).Trim());
        var rows = new List<string[]>();
        var crossBefore = LinkBytes(federation);
        long crossByQueries = 0;
        long readByQueries = 0;
        foreach (var (title, file) in new[]
        {
            ($"ERA5 mean+std over time, {era5Region}", "era5-mean-std.json"),
            ($"CMIP6 2090-2100 mean, {cmip6Region}", "cmip6-2090s-mean.json"),
            ("air_temperature in both regions", "both-regions-mean.json"),
        })
        {
            var spec = await File.ReadAllTextAsync(Path.Combine(queriesDir, file), cancellationToken);
            var sw = Stopwatch.StartNew();
            using var response = await http.PostAsync("v1/query", new StringContent(spec, Encoding.UTF8, "application/json"), cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var ms = sw.Elapsed.TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"      {title}: {QueryCommand.DescribeError((int)response.StatusCode, body)}");
                return 1;
            }

            using var doc = JsonDocument.Parse(body);
            var stats = doc.RootElement.GetProperty("stats");
            crossByQueries += stats.GetProperty("bytes_cross_region").GetInt64();
            var first = true;
            foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
            {
                rows.Add(Row(first ? title : "", result, first ? stats : null, ms, ref readByQueries));
                first = false;
            }
        }

        PrintTable(["query", "dataset", "var", "shape", "area mean (cos-lat)", "region(s): ms", "chunks", "bytes read (decoded)"], rows);
        var linkBytes = LinkBytes(federation) - crossBefore;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Bytes of data read in the regions (decoded): {readByQueries:N0}; bytes that crossed regions: {crossByQueries:N0} (partials, as counted by the router); on the emulated links incl. HTTP/2 framing: {linkBytes:N0}."));
        if (crossByQueries > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Data moved across regions is {(double)readByQueries / crossByQueries:0.0}x smaller than the data read."));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Demo finished in {total.Elapsed.TotalSeconds:0.0} s. State and logs: {state.Root}"));
        if (!keepRunning)
        {
            Console.WriteLine("The federation stops now; 'proxima demo --keep-running' leaves it up for the README's quickstart.");
            return 0;
        }

        var token = Path.Combine(state.Root, "token");
        Console.WriteLine($"Try: curl -s -H \"authorization: Bearer $(cat {token})\" {router}v1/datasets | head -c 600");
        Console.WriteLine($"  or ./proxima query Cli/Demo/queries/era5-mean-std.json --router {router} --state {state.Root}");
        Console.WriteLine("Federation still running; Ctrl-C to stop.");
        await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
        return 0;
    }

    private static long LinkBytes(LocalFederation federation)
    {
        long total = 0;
        foreach (var link in federation.Links)
        {
            total += link.BytesForward + link.BytesBackward;
        }

        return total;
    }

    /// <summary>A table row per result; the query's per-region figures go on its first row only.</summary>
    private static string[] Row(string title, JsonElement result, JsonElement? stats, double ms, ref long bytesRead)
    {
        var shape = string.Join("x", result.GetProperty("shape").EnumerateArray().Select(static s => s.GetInt64().ToString(CultureInfo.InvariantCulture)));
        var data = result.GetProperty("data").EnumerateObject().First();
        var areaMean = AreaMean(result, data.Value);

        var units = result.TryGetProperty("attrs", out var attrs) && attrs.TryGetProperty("units", out var u) ? u.GetString() : "";
        var regions = new List<string>();
        long chunks = 0;
        long read = 0;
        if (stats is { } s)
        {
            foreach (var r in s.GetProperty("regions").EnumerateObject())
            {
                regions.Add(string.Create(CultureInfo.InvariantCulture, $"{r.Name}: {r.Value.GetProperty("ms").GetDouble():0}"));
                chunks += r.Value.GetProperty("chunks").GetInt64();
                read += r.Value.GetProperty("bytes_read").GetInt64();
            }
        }

        bytesRead += read;
        return
        [
            title,
            result.GetProperty("dataset").GetString()!,
            result.GetProperty("variable").GetString()!,
            shape,
            string.Create(CultureInfo.InvariantCulture, $"{areaMean:0.00} {units} ({data.Name})"),
            stats is null ? "" : string.Create(CultureInfo.InvariantCulture, $"{string.Join(", ", regions)} (total {ms:0} ms)"),
            stats is null ? "" : chunks.ToString(CultureInfo.InvariantCulture),
            stats is null ? "" : read.ToString("N0", CultureInfo.InvariantCulture),
        ];
    }

    /// <summary>
    /// The area-weighted mean of a (…, latitude, …) result: cells weighted by cos(latitude), as a regular
    /// lat/lon grid's cell areas are; NaN cells skipped. Without a latitude dim, the plain mean.
    /// </summary>
    internal static double AreaMean(JsonElement result, JsonElement values)
    {
        var dims = result.GetProperty("dims").EnumerateArray().Select(static d => d.GetString()!).ToArray();
        var shape = result.GetProperty("shape").EnumerateArray().Select(static s => s.GetInt32()).ToArray();
        var latDim = Array.FindIndex(dims, static d => d is "lat" or "latitude");
        double[]? latitudes = null;
        if (latDim >= 0 && result.GetProperty("coords").TryGetProperty(dims[latDim], out var lat))
        {
            latitudes = lat.EnumerateArray().Select(static v => v.GetDouble()).ToArray();
        }

        // Row-major: the latitude index of flat index i is (i / inner) % shape[latDim].
        var inner = 1;
        for (var d = latDim + 1; d < shape.Length && latDim >= 0; d++)
        {
            inner *= shape[d];
        }

        double sum = 0;
        double weights = 0;
        var i = 0;
        foreach (var v in values.EnumerateArray())
        {
            if (v.ValueKind == JsonValueKind.Number)
            {
                var w = latitudes is null ? 1.0 : Math.Cos(latitudes[i / inner % shape[latDim]] * Math.PI / 180);
                sum += w * v.GetDouble();
                weights += w;
            }

            i++;
        }

        return weights == 0 ? double.NaN : sum / weights;
    }

    private static void PrintTable(string[] header, List<string[]> rows)
    {
        var widths = new int[header.Length];
        for (var i = 0; i < header.Length; i++)
        {
            widths[i] = header[i].Length;
            foreach (var row in rows)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))));
        Console.WriteLine(string.Join("  ", widths.Select(static w => new string('-', w))));
        foreach (var row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))));
        }
    }

    private static async Task EnsureSampleDataAsync(string dataRoot, string era5Region, string cmip6Region, CancellationToken cancellationToken)
    {
        var marker = Path.Combine(dataRoot, ".proxima-demo-data");
        if (File.Exists(marker))
        {
            Console.WriteLine($"[1/4] sample data present in {dataRoot}");
            return;
        }

        Console.WriteLine($"[1/4] writing sample data with xarray + zarr-python into {dataRoot} ...");
        var script = Path.Combine(AppContext.BaseDirectory, "Demo", "make_sample_data.py");
        var startInfo = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in new[] { script, "--root", dataRoot, "--era5-region", era5Region, "--cmip6-region", cmip6Region })
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"cannot start {Python}");
        var stderr = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"writing sample data failed ({Python} {script}): {stderr}");
        }

        await File.WriteAllTextAsync(marker, "written by proxima demo\n", cancellationToken);
    }
}
