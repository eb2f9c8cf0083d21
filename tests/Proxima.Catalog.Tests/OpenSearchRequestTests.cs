using System.Text.Json.Nodes;
using Amazon.Runtime;
using Proxima.Catalog.OpenSearch;
using Proxima.Tests;

namespace Proxima.Catalog.Tests;

/// <summary>
/// The OpenSearch backend against a loopback server: the exact requests it sends and how it handles recorded
/// responses of a real cluster (bulk items with errors, 429s, 5xx, conflicts).
/// </summary>
public sealed class OpenSearchRequestTests
{
    private static OpenSearchCatalog Catalog(LoopbackHttpServer server, Func<OpenSearchCatalogOptions, OpenSearchCatalogOptions>? tweak = null)
    {
        var o = new OpenSearchCatalogOptions { Endpoint = server.BaseUri, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxAttempts = 3 };
        return new OpenSearchCatalog(tweak is null ? o : tweak(o));
    }

    private const string Ack = """{"acknowledged":true}""";
    private const string Created = """{"_index":"x","_id":"y","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}""";

    private static ScriptedResponse Common(RecordedRequest r) => r.Line switch
    {
        "PUT proxima-locks/_create/r1?refresh=true" => new(201, Created),
        "DELETE proxima-locks/_doc/r1?refresh=true" => new(200, """{"result":"deleted"}"""),
        "GET _alias/proxima-datasets-r1" => new(200, """{"proxima-datasets-r1-run1":{"aliases":{"proxima-datasets-r1":{},"proxima-datasets":{}}}}"""),
        "GET _cat/indices/proxima-datasets-r1-*?format=json&h=index" => new(200, """[{"index":"proxima-datasets-r1-run1"},{"index":"proxima-datasets-r1-crashed"}]"""),
        _ when r.Method == "DELETE" => new(200, Ack),
        _ when r.Line.StartsWith("PUT proxima-runs/_doc/", StringComparison.Ordinal) => new(201, Created),
        "PUT proxima-regions/_doc/r1?refresh=true" => new(201, Created),
        "PUT proxima-datasets-r1-run2" => new(200, """{"acknowledged":true,"shards_acknowledged":true,"index":"proxima-datasets-r1-run2"}"""),
        "POST _reindex?wait_for_completion=false&refresh=true" => new(200, """{"task":"oTUltX4IQMOUUVeiohTt8A:12345"}"""),
        "GET _tasks/oTUltX4IQMOUUVeiohTt8A%3A12345" => new(200, """{"completed":true,"task":{"node":"oTUltX4IQMOUUVeiohTt8A","id":12345,"type":"transport","action":"indices:data/write/reindex","status":{"total":2,"updated":0,"created":2,"deleted":0,"batches":1}},"response":{"took":12,"timed_out":false,"total":2,"updated":0,"created":2,"deleted":0,"batches":1,"version_conflicts":0,"noops":0,"failures":[]}}"""),
        "POST proxima-datasets-r1-run2/_refresh" => new(200, """{"_shards":{"total":2,"successful":1,"failed":0}}"""),
        "POST _aliases" => new(200, Ack),
        _ => new(500, "unexpected request " + r.Line),
    };

    private static string BulkOk(int n) => """{"took":3,"errors":false,"items":[""" + string.Join(",", Enumerable.Range(0, n).Select(i =>
        $$$"""{"index":{"_index":"proxima-datasets-r1-run2","_id":"d{{{i}}}","_version":1,"result":"created","status":201}}""")) + "]}";

    [Fact]
    public async Task Changed_run_deletes_orphans_copies_live_index_bulks_and_swaps_aliases_atomically()
    {
        await using var server = await LoopbackHttpServer.StartAsync(r => r.Line == "POST _bulk" ? new(200, BulkOk(2)) : Common(r));
        await using var catalog = Catalog(server);
        await using (var g = await catalog.BeginGenerationAsync("r1", "run2"))
        {
            await g.UpsertAsync([Docs.Make("a", "r1", new BoundingBox(170, -10, -170, 10)), Docs.Make("b", "r1")]);
            await g.CommitAsync(Docs.Report("r1", "run2"));
        }

        var lines = server.Requests.Select(r => r.Line).ToList();
        Assert.Equal(new[]
        {
            "PUT proxima-locks/_create/r1?refresh=true",
            "GET _alias/proxima-datasets-r1",
            "GET _cat/indices/proxima-datasets-r1-*?format=json&h=index",
            "DELETE proxima-datasets-r1-crashed",
            "PUT proxima-datasets-r1-run2",
            "POST _reindex?wait_for_completion=false&refresh=true",
            "GET _tasks/oTUltX4IQMOUUVeiohTt8A%3A12345",
            "POST _bulk",
            "POST proxima-datasets-r1-run2/_refresh",
            "POST _aliases",
            "PUT proxima-regions/_doc/r1?refresh=true",
            "DELETE proxima-datasets-r1-run1",
            "PUT proxima-runs/_doc/r1%3Arun2?refresh=true",
            "DELETE proxima-locks/_doc/r1?refresh=true",
        }, lines);

        var reindex = server.Requests.Single(r => r.Line.StartsWith("POST _reindex", StringComparison.Ordinal));
        Assert.Equal("application/json", reindex.Headers["Content-Type"]);
        Assert.Equal("""{"source":{"index":"proxima-datasets-r1-run1"},"dest":{"index":"proxima-datasets-r1-run2"}}""", reindex.BodyText);

        var bulk = server.Requests.Single(r => r.Line == "POST _bulk");
        Assert.Equal("application/x-ndjson", bulk.Headers["Content-Type"]);
        string[] nd = bulk.BodyText.Split('\n');
        Assert.Equal(5, nd.Length); // 2 x (meta + source) + trailing newline
        Assert.Equal("", nd[4]);
        Assert.Equal("""{"index":{"_index":"proxima-datasets-r1-run2","_id":"a"}}""", nd[0]);
        var src = JsonNode.Parse(nd[1])!;
        Assert.Equal("multipolygon", src["bbox"]!["type"]!.GetValue<string>()); // 170..190 split at the antimeridian
        Assert.Equal("[[[[170,-10],[180,-10],[180,10],[170,10],[170,-10]]],[[[-180,-10],[-170,-10],[-170,10],[-180,10],[-180,-10]]]]", src["bbox"]!["coordinates"]!.ToJsonString());
        Assert.Equal(TimeKey.Parse("2000-01-01T00:00:00", TimeKey.Bound.Start), src["time"]!["gte"]!.GetValue<long>());
        Assert.Equal("run2", src["doc"]!["syncRun"]!.GetValue<string>());
        Assert.Equal("air_temperature", src["std_names"]![0]!.GetValue<string>());
        Assert.Equal("""{"index":{"_index":"proxima-datasets-r1-run2","_id":"b"}}""", nd[2]);
        Assert.Equal("envelope", JsonNode.Parse(nd[3])!["bbox"]!["type"]!.GetValue<string>());

        var aliases = server.Requests.Single(r => r.Line == "POST _aliases");
        Assert.Equal("""{"actions":[{"remove":{"index":"proxima-datasets-r1-run1","alias":"proxima-datasets-r1"}},{"remove":{"index":"proxima-datasets-r1-run1","alias":"proxima-datasets"}},{"add":{"index":"proxima-datasets-r1-run2","alias":"proxima-datasets-r1"}},{"add":{"index":"proxima-datasets-r1-run2","alias":"proxima-datasets"}}]}""", aliases.BodyText);
    }

    [Fact]
    public async Task Reindex_task_that_finishes_with_failures_aborts_before_any_alias_moves()
    {
        int polls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(r => r.Line.StartsWith("GET _tasks/", StringComparison.Ordinal)
            ? Interlocked.Increment(ref polls) == 1
                ? new(200, """{"completed":false,"task":{"node":"n","id":1,"action":"indices:data/write/reindex","status":{"total":2,"created":1}}}""")
                : new(200, """{"completed":true,"task":{"node":"n","id":1},"response":{"took":5,"total":2,"created":1,"failures":[{"index":"proxima-datasets-r1-run2","id":"b","cause":{"type":"mapper_parsing_exception","reason":"failed to parse"},"status":400}]}}""")
            : Common(r));
        await using var catalog = Catalog(server);
        await using (var g = await catalog.BeginGenerationAsync("r1", "run2"))
        {
            var e = await Assert.ThrowsAsync<CatalogException>(() => g.UpsertAsync([Docs.Make("a", "r1")]));
            Assert.Contains("mapper_parsing_exception", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(2, polls);
        var lines = server.Requests.Select(r => r.Line).ToList();
        Assert.DoesNotContain("POST _bulk", lines);
        Assert.DoesNotContain("POST _aliases", lines);
        Assert.Contains("DELETE proxima-datasets-r1-run2", lines);
    }

    [Fact]
    public async Task Unchanged_run_creates_no_index_and_moves_no_alias()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Common);
        await using var catalog = Catalog(server);
        await using (var g = await catalog.BeginGenerationAsync("r1", "run2"))
        {
            await g.CommitAsync(Docs.Report("r1", "run2", "unchanged"));
        }

        var lines = server.Requests.Select(r => r.Line).ToList();
        Assert.DoesNotContain("PUT proxima-datasets-r1-run2", lines);
        Assert.DoesNotContain("POST _aliases", lines);
        Assert.DoesNotContain("POST _bulk", lines);
        Assert.Contains("PUT proxima-runs/_doc/r1%3Arun2?refresh=true", lines);
    }

    [Fact]
    public async Task Bulk_items_rejected_with_429_are_retried_alone_then_succeed()
    {
        int bulkCalls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(r =>
        {
            if (r.Line != "POST _bulk")
            {
                return Common(r);
            }

            return Interlocked.Increment(ref bulkCalls) == 1
                ? new(200, """
                    {"took":30,"errors":true,"items":[
                     {"index":{"_index":"proxima-datasets-r1-run2","_id":"a","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}},
                     {"index":{"_index":"proxima-datasets-r1-run2","_id":"b","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=105, max_coordinating_and_primary_bytes=0]"}}}]}
                    """)
                : new(200, BulkOk(1));
        });
        await using var catalog = Catalog(server);
        await using var g = await catalog.BeginGenerationAsync("r1", "run2");
        await g.UpsertAsync([Docs.Make("a", "r1"), Docs.Make("b", "r1")]);
        var bulks = server.Requests.Where(r => r.Line == "POST _bulk").ToList();
        Assert.Equal(2, bulks.Count);
        Assert.StartsWith("""{"index":{"_index":"proxima-datasets-r1-run2","_id":"b"}}""", bulks[1].BodyText, StringComparison.Ordinal);
        Assert.Equal(3, bulks[1].BodyText.Split('\n').Length); // only b
    }

    [Fact]
    public async Task Bulk_item_mapping_error_fails_naming_the_dataset_and_keeps_the_old_generation()
    {
        await using var server = await LoopbackHttpServer.StartAsync(r => r.Line == "POST _bulk"
            ? new(200, """
                {"took":4,"errors":true,"items":[
                 {"index":{"_index":"proxima-datasets-r1-run2","_id":"a","status":201,"result":"created"}},
                 {"index":{"_index":"proxima-datasets-r1-run2","_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [bbox] of type [geo_shape]","caused_by":{"type":"illegal_argument_exception","reason":"invalid latitude 91.0; must be between -90.0 and 90.0"}}}}]}
                """)
            : Common(r));
        await using var catalog = Catalog(server);
        await using (var g = await catalog.BeginGenerationAsync("r1", "run2"))
        {
            var e = await Assert.ThrowsAsync<CatalogException>(() => g.UpsertAsync([Docs.Make("a", "r1"), Docs.Make("b", "r1")]));
            Assert.Contains("'b': 400 mapper_parsing_exception failed to parse field [bbox]", e.Message, StringComparison.Ordinal);
            Assert.Contains("1 of 2 items failed", e.Message, StringComparison.Ordinal);
        }

        var lines = server.Requests.Select(r => r.Line).ToList();
        Assert.DoesNotContain("POST _aliases", lines);
        Assert.Contains("DELETE proxima-datasets-r1-run2", lines); // aborted on dispose: the new index is dropped
        Assert.Equal("DELETE proxima-locks/_doc/r1?refresh=true", lines[^1]);
    }

    [Fact]
    public async Task Http_429_and_503_are_retried_with_backoff_and_give_up_after_max_attempts()
    {
        int calls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(r => Interlocked.Increment(ref calls) switch
        {
            1 => new(429, """{"error":{"type":"circuit_breaking_exception","reason":"[parent] Data too large"},"status":429}""", new Dictionary<string, string> { ["Retry-After"] = "0" }),
            2 => new(503, """{"error":{"type":"cluster_block_exception"},"status":503}"""),
            _ => new(200, """{"took":1,"timed_out":false,"hits":{"total":{"value":0,"relation":"eq"},"max_score":null,"hits":[]}}"""),
        });
        await using var catalog = Catalog(server);
        var page = await catalog.SearchAsync(new DatasetQuery());
        Assert.Equal(0, page.NumberMatched);
        Assert.Equal(3, calls);

        await using var failing = await LoopbackHttpServer.StartAsync(_ => new(503, """{"error":"unavailable"}"""));
        await using var c2 = Catalog(failing);
        var e = await Assert.ThrowsAsync<CatalogException>(() => c2.SearchAsync(new DatasetQuery()));
        Assert.Contains("after 3 attempts", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, failing.Requests.Count);
    }

    [Fact]
    public async Task Lock_held_by_a_live_writer_refuses_a_second_run()
    {
        string heartbeat = DateTimeOffset.UtcNow.ToString("O");
        await using var server = await LoopbackHttpServer.StartAsync(r => r.Line switch
        {
            "PUT proxima-locks/_create/r1?refresh=true" => new(409, """{"error":{"type":"version_conflict_engine_exception","reason":"[r1]: version conflict, document already exists (current version [1])"},"status":409}"""),
            "GET proxima-locks/_doc/r1" => new(200, $$$"""{"_index":"proxima-locks","_id":"r1","_version":1,"_seq_no":4,"_primary_term":1,"found":true,"_source":{"owner":"host:42:abc","heartbeat":"{{{heartbeat}}}"}}"""),
            _ => new(500, "unexpected"),
        });
        await using var catalog = Catalog(server);
        var e = await Assert.ThrowsAsync<CatalogBusyException>(() => catalog.BeginGenerationAsync("r1", "run2"));
        Assert.Contains("host:42:abc", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_sends_geo_shape_date_range_text_and_variable_filters_and_pages_with_search_after()
    {
        var doc = Docs.Make("ds/1", "r1");
        string source = OpenSearchCatalog.Source(doc).ToJsonString();
        await using var server = await LoopbackHttpServer.StartAsync(r => new(200,
            $$$"""{"took":2,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":7,"relation":"eq"},"max_score":null,"hits":[{"_index":"proxima-datasets-r1-run1","_id":"ds/1","_score":null,"_source":{{{source}}},"sort":["ds/1","r1"]},{"_index":"proxima-datasets-r1-run1","_id":"ds/1","_score":null,"_source":{{{source}}},"sort":["ds/1","r1"]}]}}"""));
        await using var catalog = Catalog(server);
        var page = await catalog.SearchAsync(new DatasetQuery
        {
            Bbox = new BoundingBox(170, -20, -170, 20),
            TimeStartKey = 0,
            TimeEndKey = 1000,
            Text = "ERA5 2m_temp",
            Variable = "Air_Temperature",
            Limit = 1,
        });
        Assert.Equal(7, page.NumberMatched);
        Assert.Equal("ds/1", Assert.Single(page.Items).Id);
        Assert.NotNull(page.NextToken);

        var req = server.Requests.Single();
        Assert.Equal("POST proxima-datasets/_search?ignore_unavailable=true&allow_no_indices=true", req.Line);
        Assert.Equal(
            """{"size":2,"track_total_hits":true,"query":{"bool":{"filter":[""" +
            """{"bool":{"should":[{"geo_shape":{"bbox":{"shape":{"type":"envelope","coordinates":[[170,20],[180,-20]]},"relation":"intersects"}}},""" +
            """{"geo_shape":{"bbox":{"shape":{"type":"envelope","coordinates":[[-180,20],[-170,-20]]},"relation":"intersects"}}}],"minimum_should_match":1}},""" +
            """{"range":{"time":{"gte":0,"lte":1000,"relation":"intersects"}}},""" +
            """{"simple_query_string":{"query":"era5* 2m* temp*","fields":["text"],"default_operator":"and","flags":"PREFIX|AND"}},""" +
            """{"bool":{"should":[{"term":{"var_names":"air_temperature"}},{"term":{"std_names":"air_temperature"}}],"minimum_should_match":1}}]}},""" +
            "\"sort\":[{\"id\":\"asc\"},{\"region\":\"asc\"}],\"_source\":[\"doc\"]}", req.BodyText);

        await catalog.SearchAsync(new DatasetQuery { PageToken = page.NextToken, Limit = 1 });
        Assert.Equal("""["ds/1","r1"]""", JsonNode.Parse(server.Requests[^1].BodyText)!["search_after"]!.ToJsonString());
    }

    [Fact]
    public async Task SigV4_signature_verifies_with_an_independent_python_implementation()
    {
        await using var server = await LoopbackHttpServer.StartAsync(_ => new(200, """{"took":1,"hits":{"total":{"value":0,"relation":"eq"},"hits":[]}}"""));
        const string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        await using var catalog = Catalog(server, o => o with
        {
            SigningRegion = "eu-west-2",
            Credentials = new SessionAWSCredentials("AKIDEXAMPLE", secret, "session-token-xyz"),
        });
        await catalog.SearchAsync(new DatasetQuery { Text = "era5 t2m", Bbox = new BoundingBox(0, 0, 10, 10) });
        var req = server.Requests.Single();
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", req.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Equal("session-token-xyz", req.Headers["x-amz-security-token"]);
        Assert.Equal("OK", SigV4Verifier.Verify(req, secret, "eu-west-2", "es"));

        // A tampered body must not verify (the check is real).
        var tampered = req with { Body = [.. req.Body, (byte)' '] };
        Assert.NotEqual("OK", SigV4Verifier.Verify(tampered, secret, "eu-west-2", "es"));
    }
}
