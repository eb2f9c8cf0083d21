using Proxima.Client.Tests.Infrastructure;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary>The Python client (Client/python) against the same federation, compared with xarray on the same files.</summary>
[Collection("federation")]
public sealed class PythonClientTests(FederationFixture federation)
{
    [Fact]
    public async Task Python_client_results_equal_xarray_on_the_same_files()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "python", "check_python_client.py");
        var outcome = await Run.ProcessAsync(Python.Interpreter, [script, federation.State, federation.Era5Store, federation.Cmip6Store], federation.Work,
            new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(RepoPaths.Root, "Client", "python") });
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        foreach (var check in new[] { "era5 mean/std", "era5 subset", "points", "cmip6 360_day", "cmip6 groupby month", "two datasets", "search", "errors", "size-0 dims" })
        {
            Assert.Contains("ok " + check, outcome.Stdout);
        }
    }

    [Fact]
    public async Task Python_client_sends_the_state_token_and_maps_401_to_an_authentication_error()
    {
        var outcome = await Run.ProcessAsync(Python.Interpreter, ["-c", """
            import http.server, json, sys, threading, os, tempfile
            from proxima_client import Client, AuthenticationError
            seen = []
            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_GET(self):
                    seen.append(self.headers.get("authorization"))
                    ok = self.headers.get("authorization") == "Bearer tok"
                    body = json.dumps({"type": "FeatureCollection", "features": []} if ok else {"error": {"code": "unauthenticated", "message": "bad token", "field": None}}).encode()
                    self.send_response(200 if ok else 401); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
            srv = http.server.HTTPServer(("127.0.0.1", 0), H)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{srv.server_port}"
            state = tempfile.mkdtemp()
            json.dump({"routerUrl": url}, open(os.path.join(state, "federation.json"), "w"))
            open(os.path.join(state, "token"), "w").write("tok\n")
            assert len(Client.from_state(state).search()) == 0
            try:
                Client(url, token="wrong").search()
                raise SystemExit("no error")
            except AuthenticationError as e:
                assert e.status == 401 and e.code == "unauthenticated"
            try:
                Client(url).search()
                raise SystemExit("no error")
            except AuthenticationError:
                pass
            assert seen == ["Bearer tok", "Bearer wrong", None], seen
            print("ok")
            """], federation.Work, new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(RepoPaths.Root, "Client", "python") });
        Assert.True(outcome.ExitCode == 0 && outcome.Stdout.Contains("ok"), outcome.Describe());
    }
}
