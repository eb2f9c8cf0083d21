using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Proxima.Cli.Local;

namespace Proxima.Cli.Commands;

/// <summary><c>proxima query</c>: posts a QuerySpec to the router and writes the result.</summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "QuerySpec JSON file (DESIGN.md §4), or - for standard input" };
        var output = new Option<string?>("--output", "-o") { Description = "Result file; the format follows its extension (.nc, .json, .csv)" };
        var router = CommonOptions.Router();
        var state = CommonOptions.State();
        var command = new Command("query", """
            Runs a QuerySpec on the federation and writes the result (JSON to stdout without -o).

            Examples:
              proxima query examples/queries/era5-mean.json
              proxima query examples/queries/era5-mean.json -o mean.nc
              echo '{"datasets":["reanalysis/era5/t2m"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"]}}' | proxima query -
            """)
        {
            spec, output, router, state,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var routerUrl = RouterResolver.Resolve(parse.GetValue(router), parse.GetValue(state)!);
            if (routerUrl is null)
            {
                await Console.Error.WriteLineAsync("error: no router: pass --router URL or start one with 'proxima up' (same --state)");
                return 2;
            }

            return await RunAsync(parse.GetValue(spec)!, parse.GetValue(output), routerUrl, Console.Out, cancellationToken);
        });
        return command;
    }

    public static async Task<int> RunAsync(string specPath, string? outputPath, Uri router, TextWriter stdout, CancellationToken cancellationToken)
    {
        JsonNode? node;
        try
        {
            var text = specPath == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(specPath, cancellationToken);
            node = JsonNode.Parse(text);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            await Console.Error.WriteLineAsync($"error: {specPath}: {ex.Message}");
            return 2;
        }

        if (node is not JsonObject query)
        {
            await Console.Error.WriteLineAsync($"error: {specPath}: a QuerySpec is a JSON object");
            return 2;
        }

        if (outputPath is not null && FormatOf(outputPath) is { } format)
        {
            query["output"] = new JsonObject { ["format"] = format };
        }

        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var content = new StringContent(query.ToJsonString(), new MediaTypeHeaderValue("application/json"));
        using var response = await http.PostAsync(new Uri(router, "v1/query"), content, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            await Console.Error.WriteLineAsync(DescribeError((int)response.StatusCode, body));
            return 1;
        }

        if (outputPath is null)
        {
            await stdout.WriteLineAsync(System.Text.Encoding.UTF8.GetString(body));
        }
        else
        {
            await File.WriteAllBytesAsync(outputPath, body, cancellationToken);
            await Console.Error.WriteLineAsync($"wrote {outputPath} ({body.Length:N0} bytes)");
        }

        return 0;
    }

    private static string? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".nc" or ".nc4" or ".netcdf" => "netcdf",
        ".json" => "json",
        ".csv" => "csv",
        _ => null,
    };

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
