using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;
using Proxima.Catalog;
using Proxima.Catalog.Search;

namespace Proxima.QueryRouter.Http;

/// <summary>The STAC-like dataset search: <c>GET /v1/datasets</c> and <c>GET /v1/datasets/{id}</c>.</summary>
internal static class CatalogEndpoints
{
    public static void MapCatalogEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v1/datasets", SearchAsync);
        endpoints.MapGet("/v1/datasets/{**id}", GetAsync);
    }

    private static async Task SearchAsync(HttpContext http, ICatalog catalog)
    {
        DatasetQuery query;
        try
        {
            query = SearchParameters.Parse(http.Request.QueryString.Value);
        }
        catch (CatalogQueryException ex)
        {
            await QueryError.BadRequest("bad_parameter", ex.Message, ex.Parameter).WriteAsync(http.Response, http.RequestAborted);
            return;
        }

        // The caller sees only datasets its token's groups allow (admin tokens, group *, see all).
        var groups = Security.RouterAuth.Get(http).Groups;
        if (!groups.Contains("*"))
        {
            query = query with { Groups = groups.ToList() };
        }

        SearchPage page;
        try
        {
            page = await catalog.SearchAsync(query, http.RequestAborted);
        }
        catch (CatalogQueryException ex)
        {
            await QueryError.BadRequest("bad_parameter", ex.Message, ex.Parameter).WriteAsync(http.Response, http.RequestAborted);
            return;
        }

        http.Response.ContentType = "application/geo+json";
        await http.Response.Body.WriteAsync(StacWriter.ItemCollectionToUtf8(page, new Uri(http.Request.GetDisplayUrl())), http.RequestAborted);
    }

    private static async Task GetAsync(HttpContext http, string id, ICatalog catalog)
    {
        var parts = await catalog.GetDatasetAsync(id, http.RequestAborted);
        if (parts.Count == 0)
        {
            await new QueryError(StatusCodes.Status404NotFound, "unknown_dataset", $"no dataset '{id}' in the catalog", "id").WriteAsync(http.Response, http.RequestAborted);
            return;
        }

        var identity = Security.RouterAuth.Get(http);
        foreach (var part in parts)
        {
            if (!Shared.AccessCheck.Allows(part.Acl, identity.Groups))
            {
                await new QueryError(StatusCodes.Status403Forbidden, "forbidden", $"dataset '{id}' is restricted to groups [{string.Join(", ", part.Acl)}]", "id").WriteAsync(http.Response, http.RequestAborted);
                return;
            }
        }

        http.Response.ContentType = "application/geo+json";
        using var buffer = new MemoryStream();
        await using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            StacWriter.WriteItem(writer, parts, new Uri(http.Request.GetDisplayUrl()));
        }

        await http.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), http.RequestAborted);
    }
}
