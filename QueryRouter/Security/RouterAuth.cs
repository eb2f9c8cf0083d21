using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proxima.QueryRouter.Http;

namespace Proxima.QueryRouter.Security;

/// <summary>
/// The router's client authentication: off (neither authenticator), static bearer tokens, OIDC/JWT
/// bearer tokens, or both (a token with two dots is checked as a JWT when static tokens do not know it).
/// </summary>
internal sealed class RouterAuth(TokenAuthenticator? tokens, JwtValidator? jwt = null)
{
    private const string ItemKey = "proxima.client";

    public bool Enabled => tokens is not null || jwt is not null;

    /// <summary>The caller of an <c>authorization</c> header, or why it must be refused.</summary>
    public async ValueTask<AuthResult> AuthenticateAsync(string? authorization, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return AuthResult.Ok(ClientIdentity.Anonymous);
        }

        if (authorization is null)
        {
            return AuthResult.Fail("missing 'authorization: Bearer <token>' header (local mode: the token is in STATE/token, printed by 'proxima up')");
        }

        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.AsSpan(7).Trim().IsEmpty)
        {
            return AuthResult.Fail("the authorization header is not 'Bearer <token>'");
        }

        if (tokens?.Authenticate(authorization) is { } known)
        {
            return AuthResult.Ok(known);
        }

        var token = authorization[7..].Trim();
        if (jwt is not null && JwtValidator.LooksLikeJwt(token))
        {
            return await jwt.ValidateAsync(token, cancellationToken);
        }

        return AuthResult.Fail("the bearer token is not valid");
    }

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

            var result = await auth.AuthenticateAsync(http.Request.Headers.Authorization, http.RequestAborted);
            if (result.Identity is not { } identity)
            {
                var error = new QueryError(StatusCodes.Status401Unauthorized, "unauthorized", result.Reason!);
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
