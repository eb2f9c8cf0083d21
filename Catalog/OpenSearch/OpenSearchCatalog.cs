using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Catalog.Sqlite;

namespace Proxima.Catalog.OpenSearch;

/// <summary>
/// Catalog on OpenSearch (or Amazon OpenSearch Service) over its REST API. One index per region and run,
/// <c>{prefix}-datasets-{region}-{run}</c>, created from an index template (<c>geo_shape</c> bbox, <c>date_range</c>
/// time); a generation starts as a server-side <c>_reindex</c> of the live index, takes <c>_bulk</c> writes
/// (each item's status checked, 429 items retried) and goes live with one atomic <c>_aliases</c> call that moves the
/// region alias and the read alias <c>{prefix}-datasets</c>. A run without changes creates no index at all.
/// A crash leaves the aliases on the old index; the next run deletes the orphan.
/// </summary>
public sealed class OpenSearchCatalog : ICatalog
{
    private readonly OpenSearchCatalogOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _owner = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}");

    public OpenSearchCatalog(OpenSearchCatalogOptions options, HttpClient? httpClient = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = TimeSpan.FromSeconds(100) };
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        Transport = new OpenSearchTransport(_http, options, _logger, _time);
    }

    internal OpenSearchTransport Transport { get; }

    internal OpenSearchCatalogOptions Options => _options;

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    public string Backend => "opensearch";

    internal string ReadAlias => _options.IndexPrefix + "-datasets";

    internal string RegionAlias(string region) => $"{_options.IndexPrefix}-datasets-{region}";

    internal string IndexName(string region, string runId)
    {
        var sb = new StringBuilder(RegionAlias(region)).Append('-');
        foreach (char c in runId.ToLowerInvariant())
        {
            sb.Append(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || c == '_' ? c : '-');
        }

        return sb.ToString();
    }

    internal string RunsIndex => _options.IndexPrefix + "-runs";

    internal string RegionsIndex => _options.IndexPrefix + "-regions";

    internal string LocksIndex => _options.IndexPrefix + "-locks";

    /// <summary>Creates or updates the index template and the small bookkeeping indices. Idempotent; call at start-up.</summary>
    public async Task EnsureTemplateAsync(CancellationToken cancellationToken = default) =>
        _ = await InstallTemplateAsync(allowForbidden: false, cancellationToken).ConfigureAwait(false);

    /// <summary><see cref="EnsureTemplateAsync"/>, or false when the cluster answers 403: a reader such as the router
    /// (mapped to <c>readall</c>) neither needs nor may write the template; the sync installs it.</summary>
    internal Task<bool> TryEnsureTemplateAsync(CancellationToken cancellationToken) => InstallTemplateAsync(allowForbidden: true, cancellationToken);

    private async Task<bool> InstallTemplateAsync(bool allowForbidden, CancellationToken cancellationToken)
    {
        var r = await Transport.SendAsync(HttpMethod.Put, "_index_template/" + ReadAlias, Template(), cancellationToken).ConfigureAwait(false);
        if (allowForbidden && r.Status == HttpStatusCode.Forbidden)
        {
            OpenSearchLog.ReadOnlyOpen(_logger, (int)r.Status);
            return false;
        }

        await Expect(r, "PUT index template").ConfigureAwait(false);
        await CreateIfMissingAsync(RunsIndex, """{"region":{"type":"keyword"},"run_id":{"type":"keyword"},"finished":{"type":"date"},"report":{"type":"object","enabled":false}}""", cancellationToken).ConfigureAwait(false);
        await CreateIfMissingAsync(RegionsIndex, """{"region":{"type":"keyword"},"live_index":{"type":"keyword"},"live_run":{"type":"keyword"},"committed":{"type":"date"}}""", cancellationToken).ConfigureAwait(false);
        await CreateIfMissingAsync(LocksIndex, """{"owner":{"type":"keyword"},"heartbeat":{"type":"date"}}""", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Makes sure OpenSearch's built-in <c>readall</c> role maps <see cref="OpenSearchCatalogOptions.ReaderRoleArn"/> as a
    /// backend role (security plugin REST API: read the mapping, keep its users, hosts and backend roles, add the ARN, PUT
    /// it back). Idempotent: nothing is written when the ARN is already there. No-op without a reader role. Needs the
    /// domain's master (the assumed catalog writer role).
    /// </summary>
    /// <exception cref="CatalogException">The security API refused or answered something unexpected; the message names the role and the ARN.</exception>
    public async Task EnsureReaderMappingAsync(CancellationToken cancellationToken = default)
    {
        if (_options.ReaderRoleArn is not { } reader)
        {
            return;
        }

        const string Role = "readall";
        const string Path = "_plugins/_security/api/rolesmapping/" + Role;
        string what = $"mapping of IAM role {reader} to the '{Role}' role";
        var current = await Transport.SendAsync(HttpMethod.Get, Path, null, cancellationToken).ConfigureAwait(false);
        JsonObject mapping;
        if (current.Status == HttpStatusCode.NotFound)
        {
            mapping = new JsonObject(); // no mapping for the role yet
        }
        else if (current.Ok && current.Body?[Role] is JsonObject existing)
        {
            mapping = existing;
        }
        else
        {
            throw new CatalogException($"OpenSearch GET {Path} ({what}) failed: HTTP {(int)current.Status} {OpenSearchTransport.Truncate(current.Raw)}");
        }

        var backendRoles = new JsonArray();
        foreach (var role in mapping["backend_roles"] as JsonArray ?? [])
        {
            if (role?.GetValue<string>() == reader)
            {
                return; // already mapped
            }

            backendRoles.Add(role?.DeepClone());
        }

        backendRoles.Add(reader);
        var body = new JsonObject { ["backend_roles"] = backendRoles };
        foreach (string field in (ReadOnlySpan<string>)["users", "hosts", "and_backend_roles", "description"])
        {
            if (mapping[field] is { } value)
            {
                body[field] = value.DeepClone();
            }
        }

        var put = await Transport.SendAsync(HttpMethod.Put, Path, body, cancellationToken).ConfigureAwait(false);
        if (!put.Ok)
        {
            throw new CatalogException($"OpenSearch PUT {Path} ({what}) failed: HTTP {(int)put.Status} {OpenSearchTransport.Truncate(put.Raw)}");
        }

        OpenSearchLog.BackendRoleMapped(_logger, Role, reader);
    }

    internal JsonObject Template() => new()
    {
        ["index_patterns"] = new JsonArray(ReadAlias + "-*"),
        ["priority"] = 100,
        ["template"] = new JsonObject
        {
            ["settings"] = JsonNode.Parse("""
                {"number_of_shards":1,
                 "analysis":{
                   "tokenizer":{"proxima_split":{"type":"pattern","pattern":"[^\\p{L}\\p{Nd}]+"}},
                   "analyzer":{"proxima_words":{"type":"custom","tokenizer":"proxima_split","filter":["lowercase"]}},
                   "normalizer":{"proxima_lower":{"type":"custom","filter":["lowercase"]}}}}
                """),
            ["mappings"] = JsonNode.Parse("""
                {"dynamic":"strict",
                 "properties":{
                   "id":{"type":"keyword"},
                   "region":{"type":"keyword"},
                   "uri":{"type":"keyword"},
                   "fingerprint":{"type":"keyword"},
                   "bbox":{"type":"geo_shape"},
                   "time":{"type":"date_range","format":"epoch_millis"},
                   "var_names":{"type":"keyword","normalizer":"proxima_lower"},
                   "std_names":{"type":"keyword","normalizer":"proxima_lower"},
                   "text":{"type":"text","analyzer":"proxima_words"},
                   "acl":{"type":"keyword"},
                   "doc":{"type":"object","enabled":false}}}
                """),
        },
    };

    private async Task CreateIfMissingAsync(string index, string properties, CancellationToken ct)
    {
        var body = new JsonObject { ["mappings"] = new JsonObject { ["properties"] = JsonNode.Parse(properties) } };
        var r = await Transport.SendAsync(HttpMethod.Put, index, body, ct).ConfigureAwait(false);
        if (!r.Ok && !r.Raw.Contains("resource_already_exists_exception", StringComparison.Ordinal))
        {
            await Expect(r, "PUT " + index).ConfigureAwait(false);
        }
    }

    internal static Task Expect(OsResponse r, string what)
    {
        if (!r.Ok)
        {
            throw new CatalogException($"OpenSearch {what} failed: HTTP {(int)r.Status} {OpenSearchTransport.Truncate(r.Raw)}");
        }

        return Task.CompletedTask;
    }

    /// <summary>The OpenSearch source for a document: indexed fields plus the full document (not indexed) under <c>doc</c>.</summary>
    internal static JsonObject Source(DatasetDocument d)
    {
        var vars = new JsonArray();
        var stds = new JsonArray();
        foreach (var v in d.Variables)
        {
            vars.Add(v.Name);
            if (v.StandardName is not null)
            {
                stds.Add(v.StandardName);
            }
        }

        var acl = new JsonArray();
        foreach (string g in d.Acl)
        {
            acl.Add(g);
        }

        var o = new JsonObject
        {
            ["id"] = d.Id,
            ["region"] = d.Region,
            ["uri"] = d.Uri,
            ["fingerprint"] = d.Fingerprint,
        };
        if (d.Bbox is { } b)
        {
            o["bbox"] = Shape(b);
        }

        if (d.Time is { } t)
        {
            o["time"] = new JsonObject { ["gte"] = t.StartKey, ["lte"] = t.EndKey };
        }

        o["var_names"] = vars;
        o["std_names"] = stds;
        o["text"] = SqliteGeneration.SearchText(d);
        o["acl"] = acl;
        o["doc"] = JsonNode.Parse(CatalogJson.Serialize(d));
        return o;
    }

    /// <summary>GeoJSON-ish shape in -180..180: an envelope, or a multipolygon of two boxes across the antimeridian.</summary>
    internal static JsonObject Shape(BoundingBox b)
    {
        var segs = b.LongitudeSegments();
        if (segs.Count == 1)
        {
            return Envelope(segs[0].Min, segs[0].Max, b.South, b.North);
        }

        var polys = new JsonArray();
        foreach (var (min, max) in segs)
        {
            polys.Add(new JsonArray(new JsonArray(
                new JsonArray(min, b.South), new JsonArray(max, b.South), new JsonArray(max, b.North), new JsonArray(min, b.North), new JsonArray(min, b.South))));
        }

        return new JsonObject { ["type"] = "multipolygon", ["coordinates"] = polys };
    }

    private static JsonObject Envelope(double minX, double maxX, double minY, double maxY) => new()
    {
        ["type"] = "envelope",
        ["coordinates"] = new JsonArray(new JsonArray(minX, maxY), new JsonArray(maxX, minY)),
    };

    public async Task<ICatalogGeneration> BeginGenerationAsync(string region, string runId, CancellationToken cancellationToken = default)
    {
        SqliteCatalog.ValidateRegion(region);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        await AcquireLockAsync(region, cancellationToken).ConfigureAwait(false);
        try
        {
            string? live = await LiveIndexAsync(region, cancellationToken).ConfigureAwait(false);
            // Orphans of crashed runs: indices of this region that the alias does not point at.
            var cat = await Transport.SendAsync(HttpMethod.Get, $"_cat/indices/{RegionAlias(region)}-*?format=json&h=index", null, cancellationToken).ConfigureAwait(false);
            if (cat.Ok && cat.Body is JsonArray rows)
            {
                foreach (var row in rows)
                {
                    string? index = row?["index"]?.GetValue<string>();
                    if (index is not null && index != live)
                    {
                        OpenSearchLog.DeletingLeftover(_logger, region, index);
                        await Transport.SendAsync(HttpMethod.Delete, index, null, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            return new OpenSearchGeneration(this, region, runId, live);
        }
        catch
        {
            await ReleaseLockAsync(region, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    internal async Task<string?> LiveIndexAsync(string region, CancellationToken ct)
    {
        var r = await Transport.SendAsync(HttpMethod.Get, "_alias/" + RegionAlias(region), null, ct).ConfigureAwait(false);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        await Expect(r, "GET _alias").ConfigureAwait(false);
        if (r.Body is JsonObject o)
        {
            foreach (var kv in o)
            {
                return kv.Key;
            }
        }

        return null;
    }

    private async Task AcquireLockAsync(string region, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var body = new JsonObject { ["owner"] = _owner, ["heartbeat"] = now.ToString("O", CultureInfo.InvariantCulture) };
        var r = await Transport.SendAsync(HttpMethod.Put, $"{LocksIndex}/_create/{region}?refresh=true", body, ct).ConfigureAwait(false);
        if (r.Ok)
        {
            return;
        }

        if (r.Status != HttpStatusCode.Conflict)
        {
            await Expect(r, "lock " + region).ConfigureAwait(false);
        }

        var cur = await Transport.SendAsync(HttpMethod.Get, $"{LocksIndex}/_doc/{region}", null, ct).ConfigureAwait(false);
        await Expect(cur, "GET lock " + region).ConfigureAwait(false);
        string owner = cur.Body?["_source"]?["owner"]?.GetValue<string>() ?? "?";
        var heartbeat = DateTimeOffset.Parse(cur.Body?["_source"]?["heartbeat"]?.GetValue<string>() ?? "0001-01-01T00:00:00Z", CultureInfo.InvariantCulture);
        if (now - heartbeat < _options.LockTimeout)
        {
            throw new CatalogBusyException($"region '{region}' is being synced by {owner} (last heartbeat {heartbeat:O})");
        }

        long seq = cur.Body!["_seq_no"]!.GetValue<long>();
        long term = cur.Body!["_primary_term"]!.GetValue<long>();
        var take = await Transport.SendAsync(HttpMethod.Put, $"{LocksIndex}/_doc/{region}?if_seq_no={seq}&if_primary_term={term}&refresh=true", body, ct).ConfigureAwait(false);
        if (take.Status == HttpStatusCode.Conflict)
        {
            throw new CatalogBusyException($"region '{region}': another process took over the stale lock of {owner} first");
        }

        await Expect(take, "take over lock " + region).ConfigureAwait(false);
    }

    internal async Task ReleaseLockAsync(string region, CancellationToken ct)
    {
        try
        {
            await Transport.SendAsync(HttpMethod.Delete, $"{LocksIndex}/_doc/{region}?refresh=true", null, ct).ConfigureAwait(false);
        }
        catch (CatalogException)
        {
            // The lock ages out after LockTimeout.
        }
    }

    public async Task<IReadOnlyList<DatasetFingerprint>> GetFingerprintsAsync(string region, CancellationToken cancellationToken = default)
    {
        var list = new List<DatasetFingerprint>();
        JsonArray? after = null;
        while (true)
        {
            var body = new JsonObject
            {
                ["size"] = 5000,
                ["query"] = new JsonObject { ["match_all"] = new JsonObject() },
                ["sort"] = new JsonArray(new JsonObject { ["id"] = "asc" }),
                ["_source"] = new JsonArray("id", "uri", "fingerprint"),
            };
            if (after is not null)
            {
                body["search_after"] = after;
            }

            var r = await Transport.SendAsync(HttpMethod.Post, RegionAlias(region) + "/_search?ignore_unavailable=true&allow_no_indices=true", body, cancellationToken).ConfigureAwait(false);
            if (r.Status == HttpStatusCode.NotFound)
            {
                return list;
            }

            await Expect(r, "search fingerprints").ConfigureAwait(false);
            var hits = r.Body?["hits"]?["hits"]?.AsArray() ?? [];
            foreach (var h in hits)
            {
                var s = h!["_source"]!;
                list.Add(new DatasetFingerprint(s["id"]!.GetValue<string>(), s["uri"]!.GetValue<string>(), s["fingerprint"]!.GetValue<string>()));
            }

            if (hits.Count < 5000)
            {
                return list;
            }

            after = hits[^1]!["sort"]!.DeepClone().AsArray();
        }
    }

    public async Task<IReadOnlyList<DatasetDocument>> GetDatasetAsync(string id, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["size"] = 1000,
            ["query"] = new JsonObject { ["term"] = new JsonObject { ["id"] = id } },
            ["_source"] = new JsonArray("doc"),
        };
        var r = await Transport.SendAsync(HttpMethod.Post, ReadAlias + "/_search?ignore_unavailable=true&allow_no_indices=true", body, cancellationToken).ConfigureAwait(false);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return [];
        }

        await Expect(r, "get dataset").ConfigureAwait(false);
        var docs = ReadDocs(r.Body);
        docs.Sort(static (a, b) =>
        {
            int c = (a.Time?.StartKey ?? long.MinValue).CompareTo(b.Time?.StartKey ?? long.MinValue);
            return c != 0 ? c : string.CompareOrdinal(a.Region, b.Region);
        });
        return docs;
    }

    private static List<DatasetDocument> ReadDocs(JsonNode? body)
    {
        var docs = new List<DatasetDocument>();
        foreach (var h in body?["hits"]?["hits"]?.AsArray() ?? [])
        {
            var doc = h?["_source"]?["doc"] ?? throw new CatalogException("OpenSearch hit without _source.doc");
            docs.Add(CatalogJson.DeserializeDocument(doc.ToJsonString()));
        }

        return docs;
    }

    /// <summary>The search request body for a query (exposed for request tests).</summary>
    internal static JsonObject SearchBody(DatasetQuery query)
    {
        var filter = new JsonArray();
        if (query.Bbox is { } b)
        {
            var should = new JsonArray();
            foreach (var (min, max) in b.LongitudeSegments())
            {
                should.Add(new JsonObject
                {
                    ["geo_shape"] = new JsonObject
                    {
                        ["bbox"] = new JsonObject { ["shape"] = Envelope(min, max, b.South, b.North), ["relation"] = "intersects" },
                    },
                });
            }

            filter.Add(should.Count == 1 ? should[0]!.DeepClone() : new JsonObject { ["bool"] = new JsonObject { ["should"] = should, ["minimum_should_match"] = 1 } });
        }

        if (query.TimeStartKey is not null || query.TimeEndKey is not null)
        {
            var range = new JsonObject();
            if (query.TimeStartKey is { } ts)
            {
                range["gte"] = ts;
            }

            if (query.TimeEndKey is { } te)
            {
                range["lte"] = te;
            }

            range["relation"] = "intersects";
            filter.Add(new JsonObject { ["range"] = new JsonObject { ["time"] = range } });
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            filter.Add(new JsonObject
            {
                ["simple_query_string"] = new JsonObject
                {
                    ["query"] = PrefixQuery(query.Text),
                    ["fields"] = new JsonArray("text"),
                    ["default_operator"] = "and",
                    ["flags"] = "PREFIX|AND",
                },
            });
        }

        if (!string.IsNullOrWhiteSpace(query.Variable))
        {
            string v = query.Variable.Trim().ToLowerInvariant();
            filter.Add(new JsonObject
            {
                ["bool"] = new JsonObject
                {
                    ["should"] = new JsonArray(
                        new JsonObject { ["term"] = new JsonObject { ["var_names"] = v } },
                        new JsonObject { ["term"] = new JsonObject { ["std_names"] = v } }),
                    ["minimum_should_match"] = 1,
                },
            });
        }

        if (query.Region is not null)
        {
            filter.Add(new JsonObject { ["term"] = new JsonObject { ["region"] = query.Region } });
        }

        if (query.Groups is { } groups)
        {
            var gs = new JsonArray();
            foreach (string g in groups)
            {
                gs.Add(g);
            }

            filter.Add(new JsonObject
            {
                ["bool"] = new JsonObject
                {
                    ["should"] = new JsonArray(
                        new JsonObject { ["bool"] = new JsonObject { ["must_not"] = new JsonObject { ["exists"] = new JsonObject { ["field"] = "acl" } } } },
                        new JsonObject { ["terms"] = new JsonObject { ["acl"] = gs } }),
                    ["minimum_should_match"] = 1,
                },
            });
        }

        var body = new JsonObject
        {
            ["size"] = query.Limit + 1,
            ["track_total_hits"] = true,
            ["query"] = new JsonObject { ["bool"] = new JsonObject { ["filter"] = filter } },
            ["sort"] = new JsonArray(new JsonObject { ["id"] = "asc" }, new JsonObject { ["region"] = "asc" }),
            ["_source"] = new JsonArray("doc"),
        };
        if (query.PageToken is { } token)
        {
            var (id, region) = PageToken.Decode(token);
            body["search_after"] = new JsonArray(id, region);
        }

        return body;
    }

    private static string PrefixQuery(string text)
    {
        var sb = new StringBuilder();
        // Same words as the SQLite backend: runs of letters/digits, each a lowercase prefix, all required.
        foreach (string word in SqliteCatalog.FtsQuery(text).Split(' '))
        {
            sb.Append(sb.Length == 0 ? "" : " ").Append(word.Trim('"', '*').ToLowerInvariant()).Append('*');
        }

        return sb.ToString();
    }

    public async Task<SearchPage> SearchAsync(DatasetQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit < 1 || query.Limit > DatasetQuery.MaxLimit)
        {
            throw new CatalogQueryException("limit", $"limit must be 1..{DatasetQuery.MaxLimit} (got {query.Limit})");
        }

        var r = await Transport.SendAsync(HttpMethod.Post, ReadAlias + "/_search?ignore_unavailable=true&allow_no_indices=true", SearchBody(query), cancellationToken).ConfigureAwait(false);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return new SearchPage(0, [], null);
        }

        await Expect(r, "search").ConfigureAwait(false);
        long total = r.Body?["hits"]?["total"]?["value"]?.GetValue<long>() ?? 0;
        var items = ReadDocs(r.Body);
        string? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = PageToken.Encode(items[^1].Id, items[^1].Region);
        }

        return new SearchPage(total, items, next);
    }

    public async Task<IReadOnlyList<RegionSummary>> ListRegionsAsync(CancellationToken cancellationToken = default)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var agg = new JsonObject
        {
            ["size"] = 0,
            ["aggs"] = new JsonObject { ["regions"] = new JsonObject { ["terms"] = new JsonObject { ["field"] = "region", ["size"] = 1000 } } },
        };
        var a = await Transport.SendAsync(HttpMethod.Post, ReadAlias + "/_search?ignore_unavailable=true&allow_no_indices=true", agg, cancellationToken).ConfigureAwait(false);
        if (a.Ok)
        {
            foreach (var bucket in a.Body?["aggregations"]?["regions"]?["buckets"]?.AsArray() ?? [])
            {
                counts[bucket!["key"]!.GetValue<string>()] = bucket["doc_count"]!.GetValue<long>();
            }
        }

        var body = new JsonObject { ["size"] = 1000, ["sort"] = new JsonArray(new JsonObject { ["region"] = "asc" }) };
        var r = await Transport.SendAsync(HttpMethod.Post, RegionsIndex + "/_search?ignore_unavailable=true&allow_no_indices=true", body, cancellationToken).ConfigureAwait(false);
        var list = new List<RegionSummary>();
        if (r.Status == HttpStatusCode.NotFound)
        {
            return list;
        }

        await Expect(r, "list regions").ConfigureAwait(false);
        foreach (var h in r.Body?["hits"]?["hits"]?.AsArray() ?? [])
        {
            var s = h!["_source"]!;
            string region = s["region"]!.GetValue<string>();
            list.Add(new RegionSummary(region, s["live_run"]?.GetValue<string>(), counts.GetValueOrDefault(region),
                s["committed"] is { } c ? DateTimeOffset.Parse(c.GetValue<string>(), CultureInfo.InvariantCulture) : null));
        }

        return list;
    }

    public async Task<SyncReport?> GetLastReportAsync(string region, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["size"] = 1,
            ["query"] = new JsonObject { ["term"] = new JsonObject { ["region"] = region } },
            ["sort"] = new JsonArray(new JsonObject { ["finished"] = "desc" }),
        };
        var r = await Transport.SendAsync(HttpMethod.Post, RunsIndex + "/_search?ignore_unavailable=true&allow_no_indices=true", body, cancellationToken).ConfigureAwait(false);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        await Expect(r, "last report").ConfigureAwait(false);
        var hits = r.Body?["hits"]?["hits"]?.AsArray();
        return hits is { Count: > 0 } ? CatalogJson.DeserializeReport(hits[0]!["_source"]!["report"]!.ToJsonString()) : null;
    }

    public async Task RecordReportAsync(SyncReport report, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["region"] = report.Region,
            ["run_id"] = report.RunId,
            ["finished"] = report.FinishedUtc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["report"] = JsonNode.Parse(CatalogJson.Serialize(report)),
        };
        string id = Uri.EscapeDataString(report.Region + ":" + report.RunId);
        await Expect(await Transport.SendAsync(HttpMethod.Put, $"{RunsIndex}/_doc/{id}?refresh=true", body, cancellationToken).ConfigureAwait(false), "store run report").ConfigureAwait(false);
    }

    /// <summary>Deletes every index and the template under this prefix (tests and <c>proxima catalog reset</c>).</summary>
    public async Task DeleteAllAsync(CancellationToken cancellationToken = default)
    {
        var cat = await Transport.SendAsync(HttpMethod.Get, $"_cat/indices/{_options.IndexPrefix}-*?format=json&h=index", null, cancellationToken).ConfigureAwait(false);
        foreach (var row in cat.Body as JsonArray ?? [])
        {
            await Transport.SendAsync(HttpMethod.Delete, row!["index"]!.GetValue<string>(), null, cancellationToken).ConfigureAwait(false);
        }

        await Transport.SendAsync(HttpMethod.Delete, "_index_template/" + ReadAlias, null, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
