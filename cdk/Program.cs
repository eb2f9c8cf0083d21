using Amazon.CDK;
using Proxima.Federation;

namespace Proxima.Cdk;

/// <summary>
/// <c>cdk synth</c> / <c>cdk deploy --all</c> entry: reads <c>bin/variables.json</c> (or <c>$PROXIMA_VARIABLES</c>),
/// validates it before any construct is created, and synthesizes to <c>$CDK_OUTDIR</c>.
/// </summary>
internal static class Program
{
    public static int Main()
    {
        var cwd = Directory.GetCurrentDirectory();
        FederationConfig federation;
        string path;
        try
        {
            path = FederationReader.ResolvePath(System.Environment.GetEnvironmentVariable(FederationReader.VariablesEnvironmentVariable), cwd);
            federation = FederationReader.ReadFile(path);
            _ = ProximaApp.WorkerPort(federation, path);
        }
        catch (FederationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        var app = new App();
        var account = System.Environment.GetEnvironmentVariable("CDK_DEFAULT_ACCOUNT");
        _ = ProximaApp.Build(app, federation, ProximaApp.FindRepositoryRoot(cwd), string.IsNullOrEmpty(account) ? null : account);
        _ = app.Synth();
        return 0;
    }
}
