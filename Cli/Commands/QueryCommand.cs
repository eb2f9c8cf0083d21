using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Proxima.Cli.Local;
using Proxima.Client;
using Spectre.Console;

namespace Proxima.Cli.Commands;

/// <summary><c>proxima query</c>: runs a QuerySpec on the router and writes the result.</summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "QuerySpec JSON file (DESIGN.md §4), or - for standard input" };
        var output = new Option<string?>("--output", "-o") { Description = "Result file; the format follows its extension: .json, .csv, .nc (default: JSON to stdout)" };
        var token = new Option<string?>("--token") { Description = "Bearer token (default: $PROXIMA_TOKEN, else STATE/token when present)" };
        var progress = new Option<string>("--progress")
        {
            Description = "Progress display on stderr: auto (a bar on a terminal, plain lines otherwise), bar, plain, none",
            DefaultValueFactory = _ => "auto",
        };
        progress.AcceptOnlyFromAmong("auto", "bar", "plain", "none");
        var router = CommonOptions.Router();
        var state = CommonOptions.State();
        var command = new Command("query", """
            Runs a QuerySpec on the federation and writes the result (JSON to stdout without -o).
            With the federation of --state, the query runs over the router's gRPC API and streams progress:
            a progress bar on a terminal, plain 'progress:' lines on stderr otherwise; the answer is the
            router's JSON, CSV or NetCDF, byte for byte what POST /v1/query answers. With --router URL the
            query goes to POST /v1/query (no progress).

            Examples:
              proxima query Cli/Demo/queries/era5-mean-std.json
              proxima query Cli/Demo/queries/era5-mean-std.json -o mean.csv
              proxima query Cli/Demo/queries/cmip6-2090s-mean.json -o mean.nc
              echo '{"datasets":["reanalysis/era5/t2m"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"]}}' | proxima query -
              proxima query spec.json --router http://host:8080 --token "$TOKEN"
            """)
        {
            spec, output, token, progress, router, state,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var stateDir = parse.GetValue(state)!;
            var explicitRouter = parse.GetValue(router);
            var routerUrl = RouterResolver.Resolve(explicitRouter, stateDir);
            if (routerUrl is null)
            {
                await Console.Error.WriteLineAsync($"error: --state {stateDir}: no running federation ({Path.Combine(stateDir, "federation.json")} is missing); expected --router URL, or a 'proxima up' started with the same --state");
                return 2;
            }

            // The gRPC address is known for the federation of --state (not for an explicit --router).
            Uri? grpcUrl = null;
            if (string.IsNullOrEmpty(explicitRouter) && new StateDirectory(stateDir).ReadRunFile() is { } running && !string.IsNullOrEmpty(running.RouterGrpcUrl))
            {
                grpcUrl = new Uri(running.RouterGrpcUrl);
            }

            var bearer = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("PROXIMA_TOKEN") ?? ProximaClient.ReadToken(stateDir);
            var mode = parse.GetValue(progress)!;
            if (mode == "auto")
            {
                mode = Console.IsErrorRedirected ? "plain" : "bar";
            }

            var where = string.IsNullOrEmpty(explicitRouter) ? $"the router of --state {stateDir}" : "--router";
            return await RunAsync(new QueryRun(parse.GetValue(spec)!, parse.GetValue(output), routerUrl, grpcUrl, bearer, mode, where), Console.Out, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// One invocation: spec file, output file, router addresses, token, progress mode (bar, plain, none), and
    /// where the router address came from (for errors).
    /// </summary>
    internal sealed record QueryRun(string SpecPath, string? OutputPath, Uri Router, Uri? GrpcRouter, string? Token, string Progress, string RouterSource = "--router");

    public static Task<int> RunAsync(string specPath, string? outputPath, Uri router, TextWriter stdout, CancellationToken cancellationToken) =>
        RunAsync(new QueryRun(specPath, outputPath, router, null, null, "none"), stdout, cancellationToken);

    private const string ExpectedSpec = """expected a QuerySpec JSON object (DESIGN.md §4), e.g. {"datasets": ["reanalysis/era5/t2m"], "variable": "t2m"}""";

    internal static async Task<int> RunAsync(QueryRun run, TextWriter stdout, CancellationToken cancellationToken)
    {
        JsonNode? node;
        try
        {
            var text = run.SpecPath == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(run.SpecPath, cancellationToken);
            node = JsonNode.Parse(text);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath}: no such file; expected a QuerySpec JSON file, or - for standard input");
            return 2;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath}: cannot read it ({ex.Message}); expected a readable QuerySpec JSON file");
            return 2;
        }
        catch (JsonException ex)
        {
            var at = ex.LineNumber is { } line ? string.Create(CultureInfo.InvariantCulture, $" line {line + 1}, column {(ex.BytePositionInLine ?? 0) + 1}") : "";
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath}{at}: not valid JSON ({FirstSentence(ex.Message)}); {ExpectedSpec}");
            return 2;
        }

        if (node is not JsonObject query)
        {
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath}: got {(node is null ? "null" : "a JSON " + node.GetValueKind().ToString().ToLowerInvariant())}; {ExpectedSpec}");
            return 2;
        }

        if (run.OutputPath is not null)
        {
            var byExtension = ProximaQuery.FormatOfPath(run.OutputPath);
            if (byExtension is null)
            {
                await Console.Error.WriteLineAsync($"error: -o {run.OutputPath}: unknown extension '{Path.GetExtension(run.OutputPath)}'; expected .json, .csv or .nc");
                return 2;
            }

            var folder = Path.GetDirectoryName(Path.GetFullPath(run.OutputPath))!;
            if (!Directory.Exists(folder))
            {
                await Console.Error.WriteLineAsync($"error: -o {run.OutputPath}: folder {folder} does not exist; expected a file in an existing folder");
                return 2;
            }

            query["output"] = new JsonObject { ["format"] = byExtension };
        }

        var format = query["output"]?["format"]?.GetValue<string>() ?? "json";
        if (format == "netcdf" && run.OutputPath is null)
        {
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath} at output.format: netcdf is binary and cannot go to the terminal; expected -o FILE.nc");
            return 2;
        }

        if (run.GrpcRouter is not null)
        {
            return await RunGrpcAsync(run, query, format, stdout, cancellationToken);
        }

        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var content = new StringContent(query.ToJsonString(), new MediaTypeHeaderValue("application/json"));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(run.Router, "v1/query")) { Content = content };
        if (!string.IsNullOrEmpty(run.Token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", run.Token);
        }

        if (run.Progress != "none")
        {
            await Console.Error.WriteLineAsync($"running query on {run.Router} ({format})...");
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"error: {run.RouterSource}: cannot reach the router at {run.Router} ({ex.Message}); expected a running router: start one with 'proxima up' or check the address");
            return 1;
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync(DescribeError((int)response.StatusCode, body));
                return 1;
            }

            return await WriteAsync(run.OutputPath, body, stdout, cancellationToken);
        }
    }

    private static async Task<int> RunGrpcAsync(QueryRun run, JsonObject spec, string format, TextWriter stdout, CancellationToken cancellationToken)
    {
        ProximaQuery query;
        try
        {
            query = ProximaQuery.FromJson(spec.ToJsonString());
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath}: {ex.Message}");
            return 2;
        }

        using var client = new ProximaClient(new ProximaClientOptions { RouterUrl = run.Router, GrpcUrl = run.GrpcRouter, Token = run.Token });
        if (run.Progress != "none")
        {
            var datasets = spec["datasets"] is JsonArray ids ? string.Join(", ", ids.Select(static d => d?.ToString())) : "?";
            await Console.Error.WriteLineAsync($"query {datasets} on {run.GrpcRouter} ({format})");
        }

        byte[] answer;
        try
        {
            answer = run.Progress switch
            {
                "bar" => await WithProgressBarAsync(client, query, format, cancellationToken),
                "plain" => await client.QueryEncodedAsync(query, format, new PlainProgress(Console.Error), cancellationToken),
                _ => await client.QueryEncodedAsync(query, format, null, cancellationToken),
            };
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"error: spec {run.SpecPath} at output.format: {ex.Message}");
            return 2;
        }
        catch (ProximaUnavailableException ex) when (ex.Region is null && ex.Message.StartsWith("Cannot reach the router", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync($"error: {run.RouterSource}: {ex.Message}; expected a running router: is the 'proxima up' of that state folder still running?");
            return 1;
        }
        catch (ProximaQueryException ex)
        {
            await Console.Error.WriteLineAsync($"error {ex.HttpStatus} ({ex.Code}){(ex.Field is null ? "" : $" at {ex.Field}")}: {ex.Message}");
            return 1;
        }
        catch (ProximaException ex)
        {
            await Console.Error.WriteLineAsync($"error{(ex.HttpStatus is { } s ? " " + s.ToString(CultureInfo.InvariantCulture) : "")}{(ex.Code is null ? "" : $" ({ex.Code})")}: {ex.Message}");
            return 1;
        }

        return await WriteAsync(run.OutputPath, answer, stdout, cancellationToken);
    }

    /// <summary>
    /// A Spectre progress bar on stderr: "planning" until the router knows every unit's chunk count, then
    /// "done/total chunks, MB read". A query faster than the first refresh still ends on a full 100% bar.
    /// </summary>
    private static async Task<byte[]> WithProgressBarAsync(ProximaClient client, ProximaQuery query, string format, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        byte[]? answer = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("planning", maxValue: 1.0);
                var progress = new CallbackProgress(p =>
                {
                    task.Value = p.Fraction;
                    task.Description = Markup.Escape(p.ChunksTotal > 0 ? $"{p.ChunksDone}/{p.ChunksTotal} chunks, {p.BytesRead / 1e6:F1} MB read" : "planning");
                });
                answer = await client.QueryEncodedAsync(query, format, progress, cancellationToken);
                task.Value = 1.0;
            });
        return answer!;
    }

    private static async Task<int> WriteAsync(string? outputPath, byte[] body, TextWriter stdout, CancellationToken cancellationToken)
    {
        if (outputPath is null)
        {
            await stdout.WriteLineAsync(System.Text.Encoding.UTF8.GetString(body));
        }
        else
        {
            try
            {
                await File.WriteAllBytesAsync(outputPath, body, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"error: -o {outputPath}: cannot write it ({ex.Message}); expected a writable file path");
                return 1;
            }

            await Console.Error.WriteLineAsync($"wrote {outputPath} ({body.Length:N0} bytes)");
        }

        return 0;
    }

    /// <summary>"error 400 (unknown_field) at select.foo: message" from the router's error JSON.</summary>
    internal static string DescribeError(int status, byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var error = doc.RootElement.GetProperty("error");
            var code = error.TryGetProperty("code", out var c) ? c.GetString() : null;
            var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
            var field = error.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            return $"error {status} ({code}){(field is null ? "" : $" at {field}")}: {message}";
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"error {status}: {System.Text.Encoding.UTF8.GetString(body)}";
        }
    }

    /// <summary>System.Text.Json's message up to its " LineNumber: ..." / " Path: ..." suffix (the line is reported separately).</summary>
    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var path = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (path >= 0 && (cut < 0 || path < cut))
        {
            cut = path;
        }

        return (cut >= 0 ? message[..cut] : message).TrimEnd(' ', '.', '|');
    }

    private sealed class CallbackProgress(Action<QueryProgress> report) : IProgress<QueryProgress>
    {
        public void Report(QueryProgress value) => report(value);
    }

    /// <summary>"progress: 40% (4/10 chunks, 1.2 MB read)" lines, one per 10% step, for logs and pipes.</summary>
    private sealed class PlainProgress(TextWriter error) : IProgress<QueryProgress>
    {
        private int _lastStep = -1;

        public void Report(QueryProgress value)
        {
            var step = (int)Math.Floor(value.Percent / 10);
            if (step <= _lastStep || value.ChunksTotal <= 0)
            {
                return;
            }

            _lastStep = step;
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"progress: {value.Percent:F0}% ({value.ChunksDone}/{value.ChunksTotal} chunks, {value.BytesRead / 1e6:F1} MB read)"));
        }
    }
}

/// <summary>Finds the router: an explicit URL, else the one a running <c>proxima up</c> published.</summary>
internal static class RouterResolver
{
    public static Uri? Resolve(string? explicitUrl, string state)
    {
        if (!string.IsNullOrEmpty(explicitUrl))
        {
            return new Uri(explicitUrl.EndsWith('/') ? explicitUrl : explicitUrl + "/");
        }

        var running = new StateDirectory(state).ReadRunFile();
        return running is null ? null : new Uri(running.RouterUrl.EndsWith('/') ? running.RouterUrl : running.RouterUrl + "/");
    }
}
