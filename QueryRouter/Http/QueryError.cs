using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Proxima.QueryRouter.Http;

/// <summary>
/// A query that cannot be answered, as DESIGN.md §4's error document
/// <c>{"error":{"code","message","field"}}</c> with its HTTP status.
/// </summary>
public sealed class QueryError : Exception
{
    public QueryError(int httpStatus, string code, string message, string? field = null, string? region = null)
        : base(message)
    {
        HttpStatus = httpStatus;
        Code = code;
        Field = field;
        Region = region;
    }

    public int HttpStatus { get; }

    public string Code { get; }

    public string? Field { get; }

    /// <summary>The region at fault (503 region unavailable).</summary>
    public string? Region { get; }

    public static QueryError BadRequest(string code, string message, string? field = null) => new(StatusCodes.Status400BadRequest, code, message, field);

    public static QueryError RegionUnavailable(string region, string message) =>
        new(StatusCodes.Status503ServiceUnavailable, "region_unavailable", message, region: region);

    public static QueryError DeadlineExceeded(string message) => new(StatusCodes.Status504GatewayTimeout, "deadline_exceeded", message);

    public byte[] ToUtf8Json()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("code", Code);
            writer.WriteString("message", Message);
            if (Field is not null)
            {
                writer.WriteString("field", Field);
            }
            else
            {
                writer.WriteNull("field");
            }

            if (Region is not null)
            {
                writer.WriteString("region", Region);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public async Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = HttpStatus;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(ToUtf8Json(), cancellationToken);
    }
}
