using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Proxima.Catalog.Sqlite;

/// <summary>A generation being written: rows with gen_from = this generation, old rows closed with gen_to.</summary>
internal sealed class SqliteGeneration : ICatalogGeneration
{
    private readonly SqliteCatalog _catalog;
    private readonly SqliteConnection _connection;
    private readonly long _gen;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _done;

    public SqliteGeneration(SqliteCatalog catalog, SqliteConnection connection, string region, string runId, long gen)
    {
        _catalog = catalog;
        _connection = connection;
        Region = region;
        RunId = runId;
        _gen = gen;
    }

    public string Region { get; }

    public string RunId { get; }

    internal long Generation => _gen;

    public async Task UpsertAsync(IReadOnlyList<DatasetDocument> documents, CancellationToken cancellationToken = default)
    {
        foreach (var d in documents)
        {
            DatasetValidation.Validate(d);
            if (d.Region != Region)
            {
                throw new ArgumentException($"document '{d.Id}' has region '{d.Region}' but this generation is for '{Region}'", nameof(documents));
            }
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            await using var tx = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await CheckOwnershipAsync(tx, cancellationToken).ConfigureAwait(false);
            await using var insert = SqliteCatalog.Command(_connection, tx, """
                INSERT INTO datasets(region, id, uri, gen_from, gen_to, fingerprint, t_start, t_end, acl)
                VALUES($r, $id, $uri, $g, NULL, $fp, $ts, $te, $acl) RETURNING rowid
                """);
            var pR = insert.Parameters.Add("$r", SqliteType.Text);
            var pId = insert.Parameters.Add("$id", SqliteType.Text);
            var pUri = insert.Parameters.Add("$uri", SqliteType.Text);
            insert.Parameters.AddWithValue("$g", _gen);
            var pFp = insert.Parameters.Add("$fp", SqliteType.Text);
            var pTs = insert.Parameters.Add("$ts", SqliteType.Integer);
            var pTe = insert.Parameters.Add("$te", SqliteType.Integer);
            var pAcl = insert.Parameters.Add("$acl", SqliteType.Text);
            await using var docs = SqliteCatalog.Command(_connection, tx, "INSERT INTO dataset_docs(rowid, doc) VALUES($ds, $doc)");
            var dDs = docs.Parameters.Add("$ds", SqliteType.Integer);
            var pDoc = docs.Parameters.Add("$doc", SqliteType.Text);
            await using var box = SqliteCatalog.Command(_connection, tx, "INSERT INTO datasets_bbox(k, min_x, max_x, min_y, max_y, min_t, max_t) VALUES($k, $x0, $x1, $y0, $y1, $t0, $t1)");
            var bT0 = box.Parameters.Add("$t0", SqliteType.Real);
            var bT1 = box.Parameters.Add("$t1", SqliteType.Real);
            var bK = box.Parameters.Add("$k", SqliteType.Integer);
            var bX0 = box.Parameters.Add("$x0", SqliteType.Real);
            var bX1 = box.Parameters.Add("$x1", SqliteType.Real);
            var bY0 = box.Parameters.Add("$y0", SqliteType.Real);
            var bY1 = box.Parameters.Add("$y1", SqliteType.Real);
            await using var vars = SqliteCatalog.Command(_connection, tx, "INSERT INTO dataset_vars(ds, name, standard_name) VALUES($ds, $n, $sn)");
            var vDs = vars.Parameters.Add("$ds", SqliteType.Integer);
            var vN = vars.Parameters.Add("$n", SqliteType.Text);
            var vSn = vars.Parameters.Add("$sn", SqliteType.Text);
            await using var fts = SqliteCatalog.Command(_connection, tx, "INSERT INTO datasets_fts(rowid, body) VALUES($ds, $body)");
            await using var find = FindVisibleCommand(tx);
            var fDs = fts.Parameters.Add("$ds", SqliteType.Integer);
            var fBody = fts.Parameters.Add("$body", SqliteType.Text);

            foreach (var d in documents)
            {
                await CloseExistingAsync(tx, find, d.Id, cancellationToken).ConfigureAwait(false);
                var doc = d.SyncRun is null ? d with { SyncRun = RunId } : d;
                pR.Value = Region;
                pId.Value = doc.Id;
                pUri.Value = doc.Uri;
                pFp.Value = doc.Fingerprint;
                pTs.Value = doc.Time is null ? DBNull.Value : doc.Time.StartKey;
                pTe.Value = doc.Time is null ? DBNull.Value : doc.Time.EndKey;
                pAcl.Value = doc.Acl.Count == 0 ? DBNull.Value : System.Text.Json.JsonSerializer.Serialize(doc.Acl.ToList(), CatalogJsonContext.Default.ListString);
                long rowid = (long)(await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                dDs.Value = rowid;
                pDoc.Value = CatalogJson.Serialize(doc);
                await docs.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

                // Every document gets an R*Tree entry so time-only searches use it too; one without a bbox sits at
                // latitude NoBboxLatitude, outside every real bbox query.
                var segments = doc.Bbox?.LongitudeSegments() ?? [(-180.0, 180.0)];
                int seg = 0;
                foreach (var (min, max) in segments)
                {
                    bK.Value = rowid * 2 + seg++;
                    bX0.Value = min;
                    bX1.Value = max;
                    bY0.Value = doc.Bbox?.South ?? SqliteCatalog.NoBboxLatitude;
                    bY1.Value = doc.Bbox?.North ?? SqliteCatalog.NoBboxLatitude;
                    bT0.Value = doc.Time is null ? -1e30 : doc.Time.StartKey / 86_400_000.0;
                    bT1.Value = doc.Time is null ? 1e30 : doc.Time.EndKey / 86_400_000.0;
                    await box.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                foreach (var v in doc.Variables)
                {
                    vDs.Value = rowid;
                    vN.Value = v.Name;
                    vSn.Value = (object?)v.StandardName ?? DBNull.Value;
                    await vars.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                fDs.Value = rowid;
                fBody.Value = SearchText(doc);
                await fts.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await HeartbeatAsync(tx, cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RemoveAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            await using var tx = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await CheckOwnershipAsync(tx, cancellationToken).ConfigureAwait(false);
            await using var find = FindVisibleCommand(tx);
            foreach (string id in ids)
            {
                await CloseExistingAsync(tx, find, id, cancellationToken).ConfigureAwait(false);
            }

            await HeartbeatAsync(tx, cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Hides the row currently visible in this generation for (region, id): close an older row, delete one of ours.</summary>
    private SqliteCommand FindVisibleCommand(SqliteTransaction tx)
    {
        var cmd = SqliteCatalog.Command(_connection, tx, """
            SELECT rowid, gen_from FROM datasets WHERE region=$r AND id=$id AND gen_from <= $g AND (gen_to IS NULL OR gen_to > $g)
            """);
        cmd.Parameters.AddWithValue("$r", Region);
        cmd.Parameters.Add("$id", SqliteType.Text);
        cmd.Parameters.AddWithValue("$g", _gen);
        return cmd;
    }

    private async Task CloseExistingAsync(SqliteTransaction tx, SqliteCommand cmd, string id, CancellationToken ct)
    {
        cmd.Parameters["$id"].Value = id;
        var rows = new List<(long RowId, long From)>(1);
        await using (var rd = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await rd.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add((rd.GetInt64(0), rd.GetInt64(1)));
            }
        }

        foreach (var (rowid, from) in rows)
        {
            if (from == _gen)
            {
                await using var del = SqliteCatalog.Command(_connection, tx, """
                    DELETE FROM datasets_bbox WHERE k IN ($k0, $k1);
                    DELETE FROM dataset_vars WHERE ds=$id;
                    DELETE FROM datasets_fts WHERE rowid=$id;
                    DELETE FROM dataset_docs WHERE rowid=$id;
                    DELETE FROM datasets WHERE rowid=$id;
                    """);
                del.Parameters.AddWithValue("$k0", rowid * 2);
                del.Parameters.AddWithValue("$k1", rowid * 2 + 1);
                del.Parameters.AddWithValue("$id", rowid);
                await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await using var close = SqliteCatalog.Command(_connection, tx, "UPDATE datasets SET gen_to=$g WHERE rowid=$id");
                close.Parameters.AddWithValue("$g", _gen);
                close.Parameters.AddWithValue("$id", rowid);
                await close.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
    }

    internal static string SearchText(DatasetDocument d)
    {
        var sb = new StringBuilder(256);
        sb.Append(d.Id.Replace('/', ' ')).Append(' ').Append(d.Region);
        foreach (var v in d.Variables)
        {
            sb.Append(' ').Append(v.Name);
            if (v.StandardName is not null)
            {
                sb.Append(' ').Append(v.StandardName);
            }

            if (v.LongName is not null)
            {
                sb.Append(' ').Append(v.LongName);
            }
        }

        foreach (var kv in d.Attrs)
        {
            sb.Append(' ').Append(kv.Value);
        }

        return sb.ToString();
    }

    private async Task CheckOwnershipAsync(SqliteTransaction tx, CancellationToken ct)
    {
        await using var cmd = SqliteCatalog.Command(_connection, tx, "SELECT pending_gen, pending_owner FROM regions WHERE region=$r");
        cmd.Parameters.AddWithValue("$r", Region);
        await using var rd = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await rd.ReadAsync(ct).ConfigureAwait(false) || rd.IsDBNull(0) || rd.GetInt64(0) != _gen || rd.GetString(1) != _catalog.Owner)
        {
            throw new CatalogBusyException($"generation {_gen} of region '{Region}' (run {RunId}) was taken over by another sync");
        }
    }

    private async Task HeartbeatAsync(SqliteTransaction tx, CancellationToken ct)
    {
        await using var cmd = SqliteCatalog.Command(_connection, tx, "UPDATE regions SET pending_heartbeat=$hb WHERE region=$r");
        cmd.Parameters.AddWithValue("$r", Region);
        cmd.Parameters.AddWithValue("$hb", _catalog.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task CommitAsync(SyncReport report, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            await using (var tx = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await CheckOwnershipAsync(tx, cancellationToken).ConfigureAwait(false);
                await using (var cmd = SqliteCatalog.Command(_connection, tx, """
                    UPDATE regions SET live_gen=$g, live_run=$run, committed_utc=$now,
                      pending_gen=NULL, pending_run=NULL, pending_owner=NULL, pending_heartbeat=NULL
                    WHERE region=$r
                    """))
                {
                    cmd.Parameters.AddWithValue("$g", _gen);
                    cmd.Parameters.AddWithValue("$run", RunId);
                    cmd.Parameters.AddWithValue("$now", _catalog.UtcNow.ToString("O", CultureInfo.InvariantCulture));
                    cmd.Parameters.AddWithValue("$r", Region);
                    await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await SqliteCatalog.InsertReportAsync(_connection, tx, report, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            _done = true;
            SqliteCatalogLog.GenerationCommitted(_catalog.Logger, Region, RunId, _gen);

            // Garbage-collect rows the new live generation no longer sees (readers on older snapshots keep theirs under WAL).
            await using (var tx = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await SqliteCatalog.DiscardUncommittedAsync(_connection, tx, Region, _gen, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task AbortAsync(SyncReport? report, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_done)
            {
                return;
            }

            _done = true;
            await using var tx = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            long live;
            await using (var cmd = SqliteCatalog.Command(_connection, tx, "SELECT live_gen, pending_owner FROM regions WHERE region=$r"))
            {
                cmd.Parameters.AddWithValue("$r", Region);
                await using var rd = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await rd.ReadAsync(cancellationToken).ConfigureAwait(false) || rd.IsDBNull(1) || rd.GetString(1) != _catalog.Owner)
                {
                    return; // someone else owns the region now; nothing of ours to undo safely
                }

                live = rd.GetInt64(0);
            }

            await SqliteCatalog.DiscardUncommittedAsync(_connection, tx, Region, live, cancellationToken).ConfigureAwait(false);
            await using (var cmd = SqliteCatalog.Command(_connection, tx, "UPDATE regions SET pending_gen=NULL, pending_run=NULL, pending_owner=NULL, pending_heartbeat=NULL WHERE region=$r"))
            {
                cmd.Parameters.AddWithValue("$r", Region);
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (report is not null)
            {
                await SqliteCatalog.InsertReportAsync(_connection, tx, report, cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            SqliteCatalogLog.GenerationAborted(_catalog.Logger, Region, RunId, _gen);
        }
        finally
        {
            _gate.Release();
        }
    }

    private void EnsureOpen()
    {
        if (_done)
        {
            throw new InvalidOperationException($"generation {_gen} of region '{Region}' is already committed or aborted");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_done)
        {
            try
            {
                await AbortAsync(null, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SqliteException)
            {
                // The next BeginGeneration cleans up whatever is left.
            }
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
