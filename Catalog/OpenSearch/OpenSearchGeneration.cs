using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Proxima.Catalog.OpenSearch;

/// <summary>A generation on OpenSearch: a new index, created on the first change as a copy of the live one.</summary>
internal sealed class OpenSearchGeneration : ICatalogGeneration
{
    private readonly OpenSearchCatalog _catalog;
    private readonly string? _liveIndex;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _newIndex;
    private bool _done;

    public OpenSearchGeneration(OpenSearchCatalog catalog, string region, string runId, string? liveIndex)
    {
        _catalog = catalog;
        Region = region;
        RunId = runId;
        _liveIndex = liveIndex;
    }

    public string Region { get; }

    public string RunId { get; }

    private OpenSearchTransport T => _catalog.Transport;

    private async Task<string> EnsureIndexAsync(CancellationToken ct)
    {
        if (_newIndex is not null)
        {
            return _newIndex;
        }

        string index = _catalog.IndexName(Region, RunId);
        if (index == _liveIndex)
        {
            throw new CatalogException($"run id '{RunId}' was already used for region '{Region}'; each run needs a new id");
        }

        await OpenSearchCatalog.Expect(await T.SendAsync(HttpMethod.Put, index, new JsonObject(), ct).ConfigureAwait(false), "create index " + index).ConfigureAwait(false);
        _newIndex = index;
        if (_liveIndex is not null)
        {
            var body = new JsonObject
            {
                ["source"] = new JsonObject { ["index"] = _liveIndex },
                ["dest"] = new JsonObject { ["index"] = index },
            };
            // Run the copy as a server task and poll it: a large index takes longer than one HTTP request should.
            var r = await T.SendAsync(HttpMethod.Post, "_reindex?wait_for_completion=false&refresh=true", body, ct).ConfigureAwait(false);
            await OpenSearchCatalog.Expect(r, $"reindex {_liveIndex} -> {index}").ConfigureAwait(false);
            string task = r.Body?["task"]?.GetValue<string>() ?? throw new CatalogException($"reindex {_liveIndex} -> {index}: response has no task id: {OpenSearchTransport.Truncate(r.Raw)}");
            for (int poll = 1; ; poll++)
            {
                var t = await T.SendAsync(HttpMethod.Get, "_tasks/" + Uri.EscapeDataString(task), null, ct).ConfigureAwait(false);
                await OpenSearchCatalog.Expect(t, "GET _tasks/" + task).ConfigureAwait(false);
                if (t.Body?["completed"]?.GetValue<bool>() == true)
                {
                    if (t.Body["error"] is { } error)
                    {
                        throw new CatalogException($"reindex {_liveIndex} -> {index} failed: {OpenSearchTransport.Truncate(error.ToJsonString())}");
                    }

                    if (t.Body["response"]?["failures"] is JsonArray { Count: > 0 } failures)
                    {
                        throw new CatalogException($"reindex {_liveIndex} -> {index} failed: {OpenSearchTransport.Truncate(failures.ToJsonString())}");
                    }

                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 50 * poll)), _catalog.Time, ct).ConfigureAwait(false);
            }
        }

        return index;
    }

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

        if (documents.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            string index = await EnsureIndexAsync(cancellationToken).ConfigureAwait(false);
            var ops = new List<BulkOp>(documents.Count);
            foreach (var d in documents)
            {
                var doc = d.SyncRun is null ? d with { SyncRun = RunId } : d;
                ops.Add(new BulkOp("index", d.Id, OpenSearchCatalog.Source(doc).ToJsonString()));
            }

            await BulkAsync(index, ops, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RemoveAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            string index = await EnsureIndexAsync(cancellationToken).ConfigureAwait(false);
            var ops = new List<BulkOp>(ids.Count);
            foreach (string id in ids)
            {
                ops.Add(new BulkOp("delete", id, null));
            }

            await BulkAsync(index, ops, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    internal sealed record BulkOp(string Action, string Id, string? Source);

    /// <summary>Sends ops in batches; retries items rejected with 429; any other item error fails with the ids and reasons.</summary>
    private async Task BulkAsync(string index, List<BulkOp> all, CancellationToken ct)
    {
        int batch = _catalog.Options.BulkSize;
        for (int start = 0; start < all.Count; start += batch)
        {
            var pending = all.GetRange(start, Math.Min(batch, all.Count - start));
            for (int attempt = 1; pending.Count > 0; attempt++)
            {
                byte[] body = BulkBody(index, pending);
                string path = _catalog.Options.RefreshOnWrite ? "_bulk?refresh=true" : "_bulk";
                var r = await T.SendRawAsync(HttpMethod.Post, path, body, "application/x-ndjson", ct).ConfigureAwait(false);
                await OpenSearchCatalog.Expect(r, "_bulk").ConfigureAwait(false);
                var retry = new List<BulkOp>();
                var errors = new StringBuilder();
                int errorCount = 0;
                if (r.Body?["errors"]?.GetValue<bool>() == true)
                {
                    var items = r.Body["items"]?.AsArray() ?? throw new CatalogException("_bulk response has errors=true but no items");
                    if (items.Count != pending.Count)
                    {
                        throw new CatalogException($"_bulk response has {items.Count} items for {pending.Count} operations");
                    }

                    for (int i = 0; i < items.Count; i++)
                    {
                        var item = items[i]![pending[i].Action] ?? throw new CatalogException($"_bulk item {i} is not a '{pending[i].Action}' result");
                        int status = item["status"]?.GetValue<int>() ?? 0;
                        if (status is >= 200 and < 300 || (status == 404 && pending[i].Action == "delete"))
                        {
                            continue;
                        }

                        if (status == 429)
                        {
                            retry.Add(pending[i]);
                            continue;
                        }

                        errorCount++;
                        if (errorCount <= 5)
                        {
                            errors.Append(CultureInfo.InvariantCulture, $"; '{pending[i].Id}': {status} {item["error"]?["type"]} {item["error"]?["reason"]}");
                        }
                    }
                }

                if (errorCount > 0)
                {
                    throw new CatalogException($"_bulk into {index}: {errorCount} of {pending.Count} items failed{errors}");
                }

                if (retry.Count > 0)
                {
                    if (attempt >= _catalog.Options.MaxAttempts)
                    {
                        throw new CatalogException($"_bulk into {index}: {retry.Count} items still rejected (429) after {attempt} attempts; first '{retry[0].Id}'");
                    }

                    OpenSearchLog.BulkRetry(_catalog.Logger, retry.Count, attempt);
                    await Task.Delay(T.Backoff(attempt, null), _catalog.Time, ct).ConfigureAwait(false);
                }

                pending = retry;
            }
        }
    }

    internal static byte[] BulkBody(string index, List<BulkOp> ops)
    {
        var sb = new StringBuilder();
        foreach (var op in ops)
        {
            var meta = new JsonObject { [op.Action] = new JsonObject { ["_index"] = index, ["_id"] = op.Id } };
            sb.Append(meta.ToJsonString()).Append('\n');
            if (op.Source is not null)
            {
                sb.Append(op.Source).Append('\n');
            }
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public async Task CommitAsync(SyncReport report, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            if (_newIndex is not null)
            {
                await OpenSearchCatalog.Expect(await T.SendAsync(HttpMethod.Post, _newIndex + "/_refresh", null, cancellationToken).ConfigureAwait(false), "refresh").ConfigureAwait(false);
                var actions = new JsonArray();
                if (_liveIndex is not null)
                {
                    actions.Add(new JsonObject { ["remove"] = new JsonObject { ["index"] = _liveIndex, ["alias"] = _catalog.RegionAlias(Region) } });
                    actions.Add(new JsonObject { ["remove"] = new JsonObject { ["index"] = _liveIndex, ["alias"] = _catalog.ReadAlias } });
                }

                actions.Add(new JsonObject { ["add"] = new JsonObject { ["index"] = _newIndex, ["alias"] = _catalog.RegionAlias(Region) } });
                actions.Add(new JsonObject { ["add"] = new JsonObject { ["index"] = _newIndex, ["alias"] = _catalog.ReadAlias } });
                await OpenSearchCatalog.Expect(await T.SendAsync(HttpMethod.Post, "_aliases", new JsonObject { ["actions"] = actions }, cancellationToken).ConfigureAwait(false), "alias swap").ConfigureAwait(false);
                _done = true;
                OpenSearchLog.Swapped(_catalog.Logger, Region, _newIndex, RunId);
            }

            _done = true;
            if (_newIndex is not null || _liveIndex is null)
            {
                var regionDoc = new JsonObject
                {
                    ["region"] = Region,
                    ["live_index"] = _newIndex ?? _liveIndex,
                    ["live_run"] = RunId,
                    ["committed"] = _catalog.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                };
                await OpenSearchCatalog.Expect(await T.SendAsync(HttpMethod.Put, $"{_catalog.RegionsIndex}/_doc/{Region}?refresh=true", regionDoc, cancellationToken).ConfigureAwait(false), "region doc").ConfigureAwait(false);
            }

            if (_newIndex is not null && _liveIndex is not null)
            {
                await T.SendAsync(HttpMethod.Delete, _liveIndex, null, cancellationToken).ConfigureAwait(false);
            }

            await _catalog.RecordReportAsync(report, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _catalog.ReleaseLockAsync(Region, CancellationToken.None).ConfigureAwait(false);
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
            if (_newIndex is not null)
            {
                await T.SendAsync(HttpMethod.Delete, _newIndex, null, cancellationToken).ConfigureAwait(false);
            }

            if (report is not null)
            {
                await _catalog.RecordReportAsync(report, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await _catalog.ReleaseLockAsync(Region, CancellationToken.None).ConfigureAwait(false);
            _gate.Release();
        }
    }

    private void EnsureOpen()
    {
        if (_done)
        {
            throw new InvalidOperationException($"generation {RunId} of region '{Region}' is already committed or aborted");
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
            catch (CatalogException)
            {
                // Orphans are deleted by the next BeginGeneration.
            }
        }

        _gate.Dispose();
    }
}
