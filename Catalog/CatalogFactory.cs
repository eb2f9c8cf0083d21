using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Catalog.Aws;
using Proxima.Catalog.OpenSearch;
using Proxima.Catalog.Sqlite;

namespace Proxima.Catalog;

/// <summary>Which catalog backend to open. Validated by <see cref="CatalogFactory.OpenAsync"/>; errors name the field.</summary>
public sealed record CatalogOptions
{
    /// <summary><c>sqlite</c> (default, embedded) or <c>opensearch</c>.</summary>
    public string Backend { get; init; } = "sqlite";

    /// <summary>SQLite file (e.g. <see cref="SqliteCatalog.DefaultPath"/> of the state directory).</summary>
    public string? SqlitePath { get; init; }

    /// <summary>OpenSearch settings when <see cref="Backend"/> is <c>opensearch</c>.</summary>
    public OpenSearchCatalogOptions? OpenSearch { get; init; }

    /// <summary>The clock requests are signed and retries are timed with (SigV4 scopes carry the date); null = the system's.</summary>
    public TimeProvider? TimeProvider { get; init; }
}

/// <summary>Opens the configured <see cref="ICatalog"/>; shared by the router, the sync job and the CLI.</summary>
public static class CatalogFactory
{
    /// <summary>Opens (and for OpenSearch, installs the index template of) the configured catalog.</summary>
    /// <exception cref="ArgumentException">Bad options; the message names the field.</exception>
    public static async Task<ICatalog> OpenAsync(CatalogOptions options, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        switch (options.Backend)
        {
            case "sqlite":
                if (string.IsNullOrWhiteSpace(options.SqlitePath))
                {
                    throw new ArgumentException("CatalogOptions.SqlitePath is required for the sqlite backend");
                }

                return await SqliteCatalog.OpenAsync(options.SqlitePath, loggers?.CreateLogger("Proxima.Catalog.Sqlite"), cancellationToken: cancellationToken).ConfigureAwait(false);
            case "opensearch":
                var os = new OpenSearchCatalog(options.OpenSearch ?? throw new ArgumentException("CatalogOptions.OpenSearch is required for the opensearch backend"),
                    logger: loggers?.CreateLogger("Proxima.Catalog.OpenSearch"), timeProvider: options.TimeProvider);
                try
                {
                    // A reader (the router, mapped to readall) gets 403 here and opens read-only.
                    _ = await os.TryEnsureTemplateAsync(cancellationToken).ConfigureAwait(false);
                    return os;
                }
                catch
                {
                    await os.DisposeAsync().ConfigureAwait(false);
                    throw;
                }

            default:
                throw new ArgumentException($"CatalogOptions.Backend must be 'sqlite' or 'opensearch' (got '{options.Backend}')");
        }
    }

    /// <summary>
    /// Options from the environment (what the CDK gives the router and the sync task):
    /// <list type="bullet">
    /// <item><c>PROXIMA_CATALOG</c>: <c>sqlite</c> or <c>opensearch</c>; unset = <c>opensearch</c> exactly when <c>PROXIMA_OPENSEARCH_URL</c> is set.</item>
    /// <item><c>PROXIMA_OPENSEARCH_URL</c>, <c>PROXIMA_OPENSEARCH_PREFIX</c> (default <c>proxima</c>).</item>
    /// <item><c>PROXIMA_OPENSEARCH_REGION</c>: SigV4 (<c>es</c>) region; unset = the region in an Amazon OpenSearch Service host
    /// name (<c>search-/vpc-NAME-ID.REGION.es.amazonaws.com</c>); other hosts are sent unsigned.</item>
    /// <item><c>PROXIMA_CATALOG_ROLE_ARN</c>: sign catalog requests with this role's credentials, from STS <c>AssumeRole</c>
    /// (refreshed before expiry) called with the default chain's credentials at <c>PROXIMA_STS_ENDPOINT</c> (default
    /// <c>https://sts.{AWS_REGION}.amazonaws.com/</c>).</item>
    /// <item><c>PROXIMA_CATALOG_READER_ROLE_ARN</c>: the role <see cref="OpenSearchCatalog.EnsureReaderMappingAsync"/> maps to <c>readall</c>.</item>
    /// </list>
    /// Otherwise SQLite at <c>{stateDirectory}/catalog.db</c>.
    /// </summary>
    /// <exception cref="InvalidConfigurationException">A variable is malformed or the combination cannot work; the message names the variable.</exception>
    public static CatalogOptions FromEnvironment(string stateDirectory, ILoggerFactory? loggers = null) =>
        FromVariables(Environment.GetEnvironmentVariable, stateDirectory, loggers);

    /// <param name="sourceCredentials">What calls STS AssumeRole; null = the SDK's default chain (tests pass keys).</param>
    internal static CatalogOptions FromVariables(Func<string, string?> variables, string stateDirectory, ILoggerFactory? loggers = null,
        TimeProvider? timeProvider = null, AWSCredentials? sourceCredentials = null)
    {
        string? Get(string name) => variables(name) is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        string? url = Get("PROXIMA_OPENSEARCH_URL");
        string backend = Get("PROXIMA_CATALOG") ?? (url is null ? "sqlite" : "opensearch");
        if (backend == "sqlite")
        {
            return new CatalogOptions { SqlitePath = SqliteCatalog.DefaultPath(stateDirectory) };
        }

        if (backend != "opensearch")
        {
            throw new InvalidConfigurationException($"PROXIMA_CATALOG must be 'sqlite' or 'opensearch' (got '{backend}')");
        }

        if (url is null)
        {
            throw new InvalidConfigurationException("PROXIMA_CATALOG is 'opensearch' but PROXIMA_OPENSEARCH_URL is not set");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint))
        {
            throw new InvalidConfigurationException($"PROXIMA_OPENSEARCH_URL is not an absolute URL: '{url}'");
        }

        string? signingRegion = Get("PROXIMA_OPENSEARCH_REGION") ?? OpenSearchCatalogOptions.RegionOfManagedDomain(endpoint.Host);
        string? writerRole = RoleArn(Get, "PROXIMA_CATALOG_ROLE_ARN");
        AWSCredentials? credentials = null;
        if (writerRole is not null)
        {
            if (signingRegion is null)
            {
                throw new InvalidConfigurationException($"PROXIMA_CATALOG_ROLE_ARN is set but requests to '{endpoint.Host}' would not be signed: set PROXIMA_OPENSEARCH_REGION");
            }

            // The STS call goes to the task's own region (AWS_REGION in ECS); the role is global.
            string stsRegion = Get("AWS_REGION") ?? Get("AWS_DEFAULT_REGION") ?? signingRegion;
            string? stsUrl = Get("PROXIMA_STS_ENDPOINT");
            Uri? stsEndpoint = null;
            if (stsUrl is not null && !Uri.TryCreate(stsUrl, UriKind.Absolute, out stsEndpoint))
            {
                throw new InvalidConfigurationException($"PROXIMA_STS_ENDPOINT is not an absolute URL: '{stsUrl}'");
            }

            var sts = new StsClient(new StsClientOptions { Region = stsRegion, Endpoint = stsEndpoint, Credentials = sourceCredentials, TimeProvider = timeProvider ?? TimeProvider.System });
            credentials = new AssumeRoleCredentials(sts, writerRole, SessionName(Get("PROXIMA_REGION")),
                loggers?.CreateLogger("Proxima.Catalog.Aws") ?? (ILogger)NullLogger.Instance, timeProvider);
        }

        return new CatalogOptions
        {
            Backend = "opensearch",
            OpenSearch = new OpenSearchCatalogOptions
            {
                Endpoint = endpoint,
                SigningRegion = signingRegion,
                Credentials = credentials,
                ReaderRoleArn = RoleArn(Get, "PROXIMA_CATALOG_READER_ROLE_ARN"),
                IndexPrefix = Get("PROXIMA_OPENSEARCH_PREFIX") ?? "proxima",
            },
            TimeProvider = timeProvider,
        };
    }

    private static string? RoleArn(Func<string, string?> get, string variable)
    {
        string? arn = get(variable);
        if (arn is not null && !(arn.StartsWith("arn:", StringComparison.Ordinal) && arn.Contains(":role/", StringComparison.Ordinal)))
        {
            throw new InvalidConfigurationException($"{variable} must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got '{arn}'");
        }

        return arn;
    }

    // RoleSessionName: 2..64 of [\w+=,.@-]; shows in CloudTrail which region's sync wrote.
    private static string SessionName(string? region) => region is null ? "proxima-catalog" : "proxima-catalog-" + region;
}
