using Amazon.CDK;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.CustomResources;
using Constructs;

namespace Proxima.Cdk.Worker;

/// <summary>
/// Reads the SSM parameters the client stack publishes, from the client region (CloudFormation cannot import
/// values across regions). One custom resource per parameter keeps each value's response field unambiguous.
/// </summary>
internal sealed class ClientParameters : Construct
{
    private readonly string _clientRegion;

    public ClientParameters(Construct scope, string id, string clientRegion, string workerRegion)
        : base(scope, id)
    {
        _clientRegion = clientRegion;
        TransitGatewayId = Read("TransitGatewayId", Naming.TransitGatewayIdParameter);
        TransitGatewayRouteTableId = Read("TransitGatewayRouteTableId", Naming.TransitGatewayRouteTableIdParameter);
        CatalogEndpoint = Read("CatalogEndpoint", Naming.CatalogEndpointParameter);
        CatalogWriterRoleArn = Read("CatalogWriterRoleArn", Naming.CatalogWriterRoleParameter);
        RouterRoleArn = Read("RouterRoleArn", Naming.RouterRoleParameter);
        WorkerServiceId = Read("WorkerServiceId", Naming.WorkerServiceParameter(workerRegion));
        WorkersHostedZoneId = Read("WorkersHostedZoneId", Naming.NamespaceHostedZoneIdParameter);
    }

    /// <summary>The client region, where the catalog domain and these parameters live.</summary>
    public string ClientRegion => _clientRegion;

    public string TransitGatewayId { get; }

    public string TransitGatewayRouteTableId { get; }

    public string CatalogEndpoint { get; }

    public string CatalogWriterRoleArn { get; }

    public string RouterRoleArn { get; }

    public string WorkerServiceId { get; }

    /// <summary>The Route 53 private zone of the workers' namespace (Cloud Map writes the region's CNAME there).</summary>
    public string WorkersHostedZoneId { get; }

    private string Read(string id, string parameterName)
    {
        var stack = Stack.Of(this);
        var parameterArn = stack.FormatArn(new ArnComponents
        {
            Service = "ssm",
            Region = _clientRegion,
            Resource = "parameter",
            ResourceName = parameterName.TrimStart('/'),
        });
        var call = new AwsSdkCall
        {
            Service = "SSM",
            Action = "getParameter",
            Region = _clientRegion,
            Parameters = new Dictionary<string, object> { ["Name"] = parameterName },
            PhysicalResourceId = PhysicalResourceId.Of(parameterName),
        };
        var resource = new AwsCustomResource(this, id, new AwsCustomResourceProps
        {
            OnCreate = call,
            OnUpdate = call,
            Policy = AwsCustomResourcePolicy.FromStatements(
            [
                new PolicyStatement(new PolicyStatementProps { Actions = ["ssm:GetParameter"], Resources = [parameterArn] }),
            ]),
            InstallLatestAwsSdk = false,
        });
        return resource.GetResponseField("Parameter.Value");
    }
}
