using System.Text.Json;
using System.Text.Json.Serialization;

namespace Proxima.Catalog;

/// <summary>Source-generated JSON for catalog documents and reports (camelCase, nulls omitted).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(DatasetDocument))]
[JsonSerializable(typeof(SyncReport))]
[JsonSerializable(typeof(List<string>))]
public sealed partial class CatalogJsonContext : JsonSerializerContext
{
}

/// <summary>Serialization helpers for the catalog's JSON forms.</summary>
public static class CatalogJson
{
    public static string Serialize(DatasetDocument document) => JsonSerializer.Serialize(document, CatalogJsonContext.Default.DatasetDocument);

    public static DatasetDocument DeserializeDocument(string json) =>
        JsonSerializer.Deserialize(json, CatalogJsonContext.Default.DatasetDocument) ?? throw new CatalogException("null dataset document");

    public static string Serialize(SyncReport report) => JsonSerializer.Serialize(report, CatalogJsonContext.Default.SyncReport);

    public static SyncReport DeserializeReport(string json) =>
        JsonSerializer.Deserialize(json, CatalogJsonContext.Default.SyncReport) ?? throw new CatalogException("null sync report");
}
