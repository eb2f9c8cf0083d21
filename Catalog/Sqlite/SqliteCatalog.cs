using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Proxima.Catalog.Sqlite;

/// <summary>
/// Embedded catalog in one SQLite file (WAL). Rows are versioned per region: a row is visible in
/// generation g when <c>gen_from &lt;= g &lt; gen_to</c> (gen_to NULL = open). A new generation only writes
/// rows that changed; commit is one UPDATE of <c>regions.live_gen</c>, so readers switch atomically and
/// a crash at any point leaves the previous generation live (uncommitted rows have gen_from &gt; live and
/// are invisible; they are cleaned up by the next <see cref="BeginGenerationAsync"/>).
/// Bounding boxes live in an R*Tree (longitudes normalized to -180..180, split at the antimeridian),
/// time ranges in an indexed pair of <see cref="TimeKey"/> columns, free text in FTS5.
/// </summary>
public sealed class SqliteCatalog : ICatalog
{
    private const int SchemaVersion = 2;
    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    private SqliteCatalog(string path, ILogger logger, TimeProvider time)
    {
        Path = path;
        _logger = logger;
        _time = time;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    public string Backend => "sqlite";

    /// <summary>The catalog file inside a state directory (<c>--state DIR</c>).</summary>
    public static string DefaultPath(string stateDirectory) => System.IO.Path.Combine(stateDirectory, "catalog.db");

    /// <summary>Opens (creating if needed) the catalog file and its schema.</summary>
    public static async Task<SqliteCatalog> OpenAsync(string path, ILogger? logger = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        var catalog = new SqliteCatalog(path, logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System);
        await catalog.InitializeAsync(cancellationToken).ConfigureAwait(false);
        return catalog;
    }

    private async Task InitializeAsync(CancellationToken ct)
    {
        await using var c = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await ExecAsync(c, null, "PRAGMA journal_mode=WAL;", ct).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await ExecAsync(c, tx, """
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS regions(
              region TEXT PRIMARY KEY,
              live_gen INTEGER NOT NULL DEFAULT 0,
              live_run TEXT,
              committed_utc TEXT,
              pending_gen INTEGER,
              pending_run TEXT,
              pending_owner TEXT,
              pending_heartbeat TEXT);
            CREATE TABLE IF NOT EXISTS datasets(
              rowid INTEGER PRIMARY KEY,
              region TEXT NOT NULL,
              id TEXT NOT NULL,
              uri TEXT NOT NULL,
              gen_from INTEGER NOT NULL,
              gen_to INTEGER,
              fingerprint TEXT NOT NULL,
              t_start INTEGER,
              t_end INTEGER,
              acl TEXT);
            CREATE TABLE IF NOT EXISTS dataset_docs(rowid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_datasets_id ON datasets(id, region);
            CREATE INDEX IF NOT EXISTS ix_datasets_region ON datasets(region, id);
            CREATE INDEX IF NOT EXISTS ix_datasets_time ON datasets(t_start, t_end);
            CREATE VIRTUAL TABLE IF NOT EXISTS datasets_bbox USING rtree(k, min_x, max_x, min_y, max_y, min_t, max_t);
            CREATE TABLE IF NOT EXISTS dataset_vars(
              ds INTEGER NOT NULL,
              name TEXT NOT NULL COLLATE NOCASE,
              standard_name TEXT COLLATE NOCASE);
            CREATE INDEX IF NOT EXISTS ix_vars_ds ON dataset_vars(ds);
            CREATE INDEX IF NOT EXISTS ix_vars_name ON dataset_vars(name);
            CREATE INDEX IF NOT EXISTS ix_vars_std ON dataset_vars(standard_name);
            CREATE VIRTUAL TABLE IF NOT EXISTS datasets_fts USING fts5(body);
            CREATE TABLE IF NOT EXISTS runs(
              region TEXT NOT NULL,
              run_id TEXT NOT NULL,
              finished_utc TEXT NOT NULL,
              report TEXT NOT NULL,
              PRIMARY KEY(region, run_id));
            CREATE INDEX IF NOT EXISTS ix_runs_finished ON runs(region, finished_utc);
            """, ct).ConfigureAwait(false);
        await using (var cmd = Command(c, tx, "SELECT value FROM meta WHERE key='schema'"))
        {
            object? v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            if (v is null)
            {
                await ExecAsync(c, tx, $"INSERT INTO meta(key, value) VALUES('schema', '{SchemaVersion}')", ct).ConfigureAwait(false);
            }
            else if ((string)v != SchemaVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw new CatalogException($"catalog '{Path}' has schema version {v}; this build reads version {SchemaVersion}");
            }
        }

        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    internal async Task<SqliteConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        try
        {
            await c.OpenAsync(ct).ConfigureAwait(false);
            await ExecAsync(c, null, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;", ct).ConfigureAwait(false);
            return c;
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    internal static async Task ExecAsync(SqliteConnection c, SqliteTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(c, tx, sql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    internal string Owner { get; } = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}");

    internal DateTimeOffset UtcNow => _time.GetUtcNow();

    internal ILogger Logger => _logger;

    public async Task<ICatalogGeneration> BeginGenerationAsync(string region, string runId, CancellationToken cancellationToken = default)
    {
        ValidateRegion(region);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            long live = 0;
            await using (var cmd = Command(c, tx, "SELECT live_gen, pending_gen, pending_owner, pending_heartbeat FROM regions WHERE region=$r"))
            {
                cmd.Parameters.AddWithValue("$r", region);
                await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    live = r.GetInt64(0);
                    if (!r.IsDBNull(1))
                    {
                        string owner = r.GetString(2);
                        var heartbeat = DateTimeOffset.Parse(r.GetString(3), CultureInfo.InvariantCulture);
                        if (OwnerIsAlive(owner, heartbeat))
                        {
                            throw new CatalogBusyException($"region '{region}' is being synced by {owner} (run {r.GetInt64(1)}, last heartbeat {heartbeat:O})");
                        }

                        SqliteCatalogLog.StaleGeneration(_logger, region, owner);
                    }
                }
            }

            int cleaned = await DiscardUncommittedAsync(c, tx, region, live, cancellationToken).ConfigureAwait(false);
            if (cleaned > 0)
            {
                SqliteCatalogLog.CleanedLeftovers(_logger, region, cleaned);
            }

            long gen = live + 1;
            await using (var cmd = Command(c, tx, """
                INSERT INTO regions(region, live_gen, pending_gen, pending_run, pending_owner, pending_heartbeat)
                VALUES($r, 0, $g, $run, $o, $hb)
                ON CONFLICT(region) DO UPDATE SET pending_gen=$g, pending_run=$run, pending_owner=$o, pending_heartbeat=$hb
                """))
            {
                cmd.Parameters.AddWithValue("$r", region);
                cmd.Parameters.AddWithValue("$g", gen);
                cmd.Parameters.AddWithValue("$run", runId);
                cmd.Parameters.AddWithValue("$o", Owner);
                cmd.Parameters.AddWithValue("$hb", UtcNow.ToString("O", CultureInfo.InvariantCulture));
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            SqliteCatalogLog.GenerationBegun(_logger, region, runId, gen);
            return new SqliteGeneration(this, c, region, runId, gen);
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private bool OwnerIsAlive(string owner, DateTimeOffset heartbeat)
    {
        string[] parts = owner.Split(':');
        if (parts.Length == 3 && parts[0] == Environment.MachineName && int.TryParse(parts[1], CultureInfo.InvariantCulture, out int pid))
        {
            if (pid == Environment.ProcessId)
            {
                // Same process: alive unless it is a generation object this process abandoned (then its heartbeat ages out).
                return UtcNow - heartbeat < TimeSpan.FromMinutes(10);
            }

            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        return UtcNow - heartbeat < TimeSpan.FromMinutes(10);
    }

    /// <summary>Drops rows of generations newer than live (crashed/aborted runs) and rows no longer visible to live.</summary>
    internal static async Task<int> DiscardUncommittedAsync(SqliteConnection c, SqliteTransaction tx, string region, long live, CancellationToken ct)
    {
        const string Dead = "region=$r AND (gen_from > $live OR gen_to <= $live)";
        await using (var cmd = Command(c, tx, $"""
            DELETE FROM datasets_bbox WHERE k/2 IN (SELECT rowid FROM datasets WHERE {Dead});
            DELETE FROM dataset_vars WHERE ds IN (SELECT rowid FROM datasets WHERE {Dead});
            DELETE FROM datasets_fts WHERE rowid IN (SELECT rowid FROM datasets WHERE {Dead});
            DELETE FROM dataset_docs WHERE rowid IN (SELECT rowid FROM datasets WHERE {Dead});
            """))
        {
            cmd.Parameters.AddWithValue("$r", region);
            cmd.Parameters.AddWithValue("$live", live);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        int n;
        await using (var cmd = Command(c, tx, $"DELETE FROM datasets WHERE {Dead}"))
        {
            cmd.Parameters.AddWithValue("$r", region);
            cmd.Parameters.AddWithValue("$live", live);
            n = await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using (var cmd = Command(c, tx, "UPDATE datasets SET gen_to=NULL WHERE region=$r AND gen_to > $live"))
        {
            cmd.Parameters.AddWithValue("$r", region);
            cmd.Parameters.AddWithValue("$live", live);
            n += await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return n;
    }

    /// <summary>R*Tree latitude for documents without a bbox: outside -90..90, so only time-only probes reach them.</summary>
    internal const double NoBboxLatitude = 1000;

    private const string Visible = "d.gen_from <= r.live_gen AND (d.gen_to IS NULL OR d.gen_to > r.live_gen)";

    public async Task<IReadOnlyList<DatasetFingerprint>> GetFingerprintsAsync(string region, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, $"SELECT d.id, d.uri, d.fingerprint FROM datasets d JOIN regions r ON r.region=d.region WHERE d.region=$r AND {Visible} ORDER BY d.id");
        cmd.Parameters.AddWithValue("$r", region);
        var list = new List<DatasetFingerprint>();
        await using var rd = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rd.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new DatasetFingerprint(rd.GetString(0), rd.GetString(1), rd.GetString(2)));
        }

        return list;
    }

    public async Task<IReadOnlyList<DatasetDocument>> GetDatasetAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, $"SELECT (SELECT doc FROM dataset_docs WHERE rowid=d.rowid) FROM datasets d JOIN regions r ON r.region=d.region WHERE d.id=$id AND {Visible} ORDER BY d.t_start, d.region");
        cmd.Parameters.AddWithValue("$id", id);
        var list = new List<DatasetDocument>();
        await using var rd = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rd.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(CatalogJson.DeserializeDocument(rd.GetString(0)));
        }

        return list;
    }

    public async Task<SearchPage> SearchAsync(DatasetQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit < 1 || query.Limit > DatasetQuery.MaxLimit)
        {
            throw new CatalogQueryException("limit", $"limit must be 1..{DatasetQuery.MaxLimit} (got {query.Limit})");
        }

        var where = new StringBuilder(Visible);
        // Time also goes into the R*Tree (days, float32, rounded outwards) so one index probe does bbox and time;
        // the exact t_start/t_end comparison below removes rounding false positives.
        double tMin = query.TimeStartKey is { } qs ? qs / 86_400_000.0 : -1e30;
        double tMax = query.TimeEndKey is { } qe ? qe / 86_400_000.0 : 1e30;
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, "");
        if (query.Bbox is not null || query.TimeStartKey is not null || query.TimeEndKey is not null)
        {
            // bbox and/or time through the R*Tree; without a bbox the probe spans the globe plus the no-bbox row.
            var bbox = query.Bbox;
            var segments = bbox?.LongitudeSegments() ?? [(-180.0, 180.0)];
            where.Append(" AND d.rowid IN (");
            int i = 0;
            foreach (var (min, max) in segments)
            {
                if (i > 0)
                {
                    where.Append(" UNION ");
                }

                where.Append(CultureInfo.InvariantCulture, $"SELECT k/2 FROM datasets_bbox WHERE max_x >= $w{i} AND min_x <= $e{i} AND max_y >= $s AND min_y <= $n AND max_t >= $t0 AND min_t <= $t1");
                cmd.Parameters.AddWithValue("$w" + i.ToString(CultureInfo.InvariantCulture), min);
                cmd.Parameters.AddWithValue("$e" + i.ToString(CultureInfo.InvariantCulture), max);
                i++;
            }

            where.Append(')');
            cmd.Parameters.AddWithValue("$s", bbox?.South ?? -90.0);
            cmd.Parameters.AddWithValue("$n", bbox?.North ?? NoBboxLatitude);
            cmd.Parameters.AddWithValue("$t0", tMin);
            cmd.Parameters.AddWithValue("$t1", tMax);
        }

        if (query.TimeStartKey is { } ts)
        {
            where.Append(" AND d.t_end >= $ts");
            cmd.Parameters.AddWithValue("$ts", ts);
        }

        if (query.TimeEndKey is { } te)
        {
            where.Append(" AND d.t_start <= $te");
            cmd.Parameters.AddWithValue("$te", te);
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            where.Append(" AND d.rowid IN (SELECT rowid FROM datasets_fts WHERE datasets_fts MATCH $q)");
            cmd.Parameters.AddWithValue("$q", FtsQuery(query.Text));
        }

        if (!string.IsNullOrWhiteSpace(query.Variable))
        {
            where.Append(" AND d.rowid IN (SELECT ds FROM dataset_vars WHERE name=$v UNION SELECT ds FROM dataset_vars WHERE standard_name=$v)");
            cmd.Parameters.AddWithValue("$v", query.Variable.Trim());
        }

        if (query.Region is not null)
        {
            where.Append(" AND d.region=$region");
            cmd.Parameters.AddWithValue("$region", query.Region);
        }

        if (query.Groups is { } groups)
        {
            where.Append(" AND (d.acl IS NULL");
            if (groups.Count > 0)
            {
                where.Append(" OR EXISTS(SELECT 1 FROM json_each(d.acl) j WHERE j.value IN (");
                int gi = 0;
                foreach (string g in groups)
                {
                    where.Append(gi == 0 ? "" : ",").Append("$g").Append(gi);
                    cmd.Parameters.AddWithValue("$g" + gi.ToString(CultureInfo.InvariantCulture), g);
                    gi++;
                }

                where.Append("))");
            }

            where.Append(')');
        }

        // Count over the same filter, without paging.
        cmd.CommandText = $"SELECT count(*) FROM datasets d JOIN regions r ON r.region=d.region WHERE {where}";
        long matched = (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

        if (query.PageToken is { } token)
        {
            var (afterId, afterRegion) = PageToken.Decode(token);
            where.Append(" AND (d.id > $aid OR (d.id = $aid AND d.region > $areg))");
            cmd.Parameters.AddWithValue("$aid", afterId);
            cmd.Parameters.AddWithValue("$areg", afterRegion);
        }

        cmd.CommandText = $"SELECT (SELECT doc FROM dataset_docs WHERE rowid=d.rowid) FROM datasets d JOIN regions r ON r.region=d.region WHERE {where} ORDER BY d.id, d.region LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", query.Limit + 1);
        var items = new List<DatasetDocument>(Math.Min(query.Limit + 1, 1024));
        await using (var rd = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await rd.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(CatalogJson.DeserializeDocument(rd.GetString(0)));
            }
        }

        string? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            var last = items[^1];
            next = PageToken.Encode(last.Id, last.Region);
        }

        return new SearchPage(matched, items, next);
    }

    /// <summary>Turns free text into an FTS5 query: every word prefix-matched, all required.</summary>
    internal static string FtsQuery(string text)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !char.IsLetterOrDigit(text[i]))
            {
                i++;
            }

            int start = i;
            while (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                sb.Append(sb.Length == 0 ? "" : " ").Append('"').Append(text, start, i - start).Append("\"*");
            }
        }

        if (sb.Length == 0)
        {
            throw new CatalogQueryException("q", "q must contain at least one letter or digit");
        }

        return sb.ToString();
    }

    public async Task<IReadOnlyList<RegionSummary>> ListRegionsAsync(CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, $"""
            SELECT r.region, r.live_run, r.committed_utc,
              (SELECT count(*) FROM datasets d WHERE d.region=r.region AND {Visible})
            FROM regions r WHERE r.live_gen > 0 ORDER BY r.region
            """);
        var list = new List<RegionSummary>();
        await using var rd = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rd.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new RegionSummary(
                rd.GetString(0),
                rd.IsDBNull(1) ? null : rd.GetString(1),
                rd.GetInt64(3),
                rd.IsDBNull(2) ? null : DateTimeOffset.Parse(rd.GetString(2), CultureInfo.InvariantCulture)));
        }

        return list;
    }

    public async Task<SyncReport?> GetLastReportAsync(string region, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(c, null, "SELECT report FROM runs WHERE region=$r ORDER BY finished_utc DESC, rowid DESC LIMIT 1");
        cmd.Parameters.AddWithValue("$r", region);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? CatalogJson.DeserializeReport(json) : null;
    }

    public async Task RecordReportAsync(SyncReport report, CancellationToken cancellationToken = default)
    {
        await using var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await InsertReportAsync(c, null, report, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task InsertReportAsync(SqliteConnection c, SqliteTransaction? tx, SyncReport report, CancellationToken ct)
    {
        await using var cmd = Command(c, tx, "INSERT OR REPLACE INTO runs(region, run_id, finished_utc, report) VALUES($r, $run, $f, $rep)");
        cmd.Parameters.AddWithValue("$r", report.Region);
        cmd.Parameters.AddWithValue("$run", report.RunId);
        cmd.Parameters.AddWithValue("$f", report.FinishedUtc.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        cmd.Parameters.AddWithValue("$rep", CatalogJson.Serialize(report));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    internal static void ValidateRegion(string region) => RegionNames.Validate(region);

    public ValueTask DisposeAsync()
    {
        using var c = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(c);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Opaque keyset paging token: base64url of "id \u001f region".</summary>
internal static class PageToken
{
    public static string Encode(string id, string region) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(id + "\u001f" + region)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static (string Id, string Region) Decode(string token)
    {
        try
        {
            string b64 = token.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            string s = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            int sep = s.IndexOf('\u001f', StringComparison.Ordinal);
            if (sep > 0)
            {
                return (s[..sep], s[(sep + 1)..]);
            }
        }
        catch (FormatException)
        {
        }

        throw new CatalogQueryException("token", "token is not a paging token returned by this catalog");
    }
}
