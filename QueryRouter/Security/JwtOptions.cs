namespace Proxima.QueryRouter.Security;

/// <summary>
/// OIDC/JWT bearer-token validation (alongside the static tokens): tokens signed by
/// <see cref="Issuer"/> with RS256 or ES256, for <see cref="Audience"/>, within their validity
/// window give the identity <c>sub</c> (or <see cref="NameClaim"/>) with the groups of
/// <see cref="GroupsClaim"/> — e.g. <c>groups</c> (Keycloak, Okta) or <c>cognito:groups</c> (Cognito).
/// </summary>
/// <remarks>
/// Signing keys come from a JWKS file (<see cref="JwksPath"/>) or from the issuer's
/// <c>/.well-known/openid-configuration</c> → <c>jwks_uri</c>; either is re-read every
/// <see cref="KeysRefresh"/> and, at most every <see cref="UnknownKeyRefresh"/>, when a token names a key
/// id not yet known (key rotation). <c>proxima router</c>: <c>--oidc-issuer</c> … or the
/// <c>PROXIMA_OIDC_*</c> environment variables (AWS).
/// </remarks>
public sealed record JwtOptions
{
    /// <summary>The <c>iss</c> every token must carry, exactly (e.g. <c>https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbC</c>).</summary>
    public required string Issuer { get; init; }

    /// <summary>The <c>aud</c> every token must contain (for Cognito access tokens, which carry <c>client_id</c> instead, that claim is accepted too).</summary>
    public required string Audience { get; init; }

    /// <summary>A JWKS file (<c>{"keys":[…]}</c>); null = discover <c>jwks_uri</c> from the issuer.</summary>
    public string? JwksPath { get; init; }

    /// <summary>The claim holding the caller's groups (an array of strings, or one space/comma-separated string).</summary>
    public string GroupsClaim { get; init; } = "groups";

    /// <summary>The claim naming the caller (per-client limits, logs).</summary>
    public string NameClaim { get; init; } = "sub";

    /// <summary>Tolerance on <c>exp</c> and <c>nbf</c> for clocks that differ.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the signing keys are re-read.</summary>
    public TimeSpan KeysRefresh { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Least time between two re-reads caused by an unknown key id.</summary>
    public TimeSpan UnknownKeyRefresh { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks the options and names the bad field.</summary>
    public void Validate()
    {
        if (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer) || (issuer.Scheme != Uri.UriSchemeHttps && !(issuer.Scheme == Uri.UriSchemeHttp && issuer.IsLoopback)))
        {
            throw new ArgumentException($"JwtOptions.Issuer: '{Issuer}' is not an https URL (http only on loopback)", nameof(Issuer));
        }

        if (string.IsNullOrWhiteSpace(Audience))
        {
            throw new ArgumentException("JwtOptions.Audience is required", nameof(Audience));
        }

        if (JwksPath is not null && !File.Exists(JwksPath))
        {
            throw new ArgumentException($"JwtOptions.JwksPath: '{JwksPath}' does not exist", nameof(JwksPath));
        }

        if (string.IsNullOrWhiteSpace(GroupsClaim) || string.IsNullOrWhiteSpace(NameClaim))
        {
            throw new ArgumentException("JwtOptions.GroupsClaim and NameClaim must name claims", nameof(GroupsClaim));
        }

        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"JwtOptions.ClockSkew: {ClockSkew} is not in 0..10 min", nameof(ClockSkew));
        }
    }
}
