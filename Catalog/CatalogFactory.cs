using Microsoft.Extensions.Logging;
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
                    logger: loggers?.CreateLogger("Proxima.Catalog.OpenSearch"));
                try
                {
                    await os.EnsureTemplateAsync(cancellationToken).ConfigureAwait(false);
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
    /// Options from the environment: <c>PROXIMA_OPENSEARCH_URL</c> selects OpenSearch (with <c>PROXIMA_OPENSEARCH_REGION</c>
    /// for SigV4 and <c>PROXIMA_OPENSEARCH_PREFIX</c>); otherwise SQLite at <c>{stateDirectory}/catalog.db</c>.
    /// </summary>
    public static CatalogOptions FromEnvironment(string stateDirectory)
    {
        string? url = Environment.GetEnvironmentVariable("PROXIMA_OPENSEARCH_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            return new CatalogOptions { SqlitePath = SqliteCatalog.DefaultPath(stateDirectory) };
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint))
        {
            throw new ArgumentException($"PROXIMA_OPENSEARCH_URL is not an absolute URL: '{url}'");
        }

        return new CatalogOptions
        {
            Backend = "opensearch",
            OpenSearch = new OpenSearchCatalogOptions
            {
                Endpoint = endpoint,
                SigningRegion = Environment.GetEnvironmentVariable("PROXIMA_OPENSEARCH_REGION") is { Length: > 0 } r ? r : null,
                IndexPrefix = Environment.GetEnvironmentVariable("PROXIMA_OPENSEARCH_PREFIX") is { Length: > 0 } p ? p : "proxima",
            },
        };
    }
}
