using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proxima.QueryRouter.Http;

namespace Proxima.QueryRouter.Security;

/// <summary>The router's client authentication: off (null authenticator) or bearer tokens.</summary>
internal sealed class RouterAuth(TokenAuthenticator? authenticator)
{
    private const string ItemKey = "proxima.client";

    public bool Enabled => authenticator is not null;

    /// <summary>The caller of an <c>authorization</c> header, or null when it must be refused.</summary>
    public ClientIdentity? Authenticate(string? authorization) =>
        authenticator is null ? ClientIdentity.Anonymous : authenticator.Authenticate(authorization);

    public static ClientIdentity Get(HttpContext http) =>
        http.Items.TryGetValue(ItemKey, out var v) && v is ClientIdentity c ? c : ClientIdentity.Anonymous;

    internal static void Set(HttpContext http, ClientIdentity identity) => http.Items[ItemKey] = identity;
}

internal static class RouterAuthExtensions
{
    /// <summary>
    /// Every HTTP/1.1 REST request except <c>/healthz</c> and <c>/metrics</c> needs a valid bearer token;
    /// otherwise 401 with DESIGN.md's error document. gRPC (HTTP/2 on its own port) is checked per call.
    /// </summary>
    public static void UseRouterAuth(this WebApplication app)
    {
        var auth = app.Services.GetRequiredService<RouterAuth>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Proxima.QueryRouter.Auth");
        app.Use(async (http, next) =>
        {
            var path = http.Request.Path;
            if (!auth.Enabled || http.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true
                || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics"))
            {
                await next(http);
                return;
            }

            string? header = http.Request.Headers.Authorization;
            var identity = auth.Authenticate(header);
            if (identity is null)
            {
                var error = new QueryError(StatusCodes.Status401Unauthorized, "unauthorized",
                    header is null
                        ? "missing 'authorization: Bearer <token>' header (local mode: the token is in STATE/token, printed by 'proxima up')"
                        : "the bearer token is not valid");
                RouterLog.RequestRejected(logger, error.HttpStatus, error.Code, error.Message);
                http.Response.Headers.WWWAuthenticate = "Bearer";
                await error.WriteAsync(http.Response, http.RequestAborted);
                return;
            }

            RouterAuth.Set(http, identity);
            await next(http);
        });
    }
}
