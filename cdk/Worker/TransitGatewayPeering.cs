using Amazon.CDK;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.CustomResources;
using Constructs;
using Proxima.Cdk.Network;
using Proxima.Federation;

namespace Proxima.Cdk.Worker;

internal sealed record TransitGatewayPeeringProps
{
    public required RegionNetwork Network { get; init; }

    public required string ClientRegion { get; init; }

    public required Ipv4Cidr ClientCidr { get; init; }

    public required Ipv4Cidr WorkerCidr { get; init; }

    public required string ClientTransitGatewayId { get; init; }

    public required string ClientRouteTableId { get; init; }
}

/// <summary>
/// Peers this worker region's Transit Gateway with the client's and routes exactly two prefixes: the client CIDR
/// here, this worker's CIDR there. No worker↔worker routes exist (the router is the only client of a worker).
/// The attachment is requested here, accepted in the client region by a custom resource, and a waiter holds the
/// routes back until the attachment is <c>available</c> (routes to a pending attachment are rejected).
/// </summary>
internal sealed class TransitGatewayPeering : Construct
{
    public TransitGatewayPeering(Construct scope, string id, TransitGatewayPeeringProps props)
        : base(scope, id)
    {
        var stack = Stack.Of(this);
        Attachment = new CfnTransitGatewayPeeringAttachment(this, "Attachment", new CfnTransitGatewayPeeringAttachmentProps
        {
            TransitGatewayId = props.Network.TransitGateway.Ref,
            PeerTransitGatewayId = props.ClientTransitGatewayId,
            PeerAccountId = stack.Account,
            PeerRegion = props.ClientRegion,
            Tags = [new CfnTag { Key = "Name", Value = $"proxima-{stack.Region}-to-{props.ClientRegion}" }],
        });
        var attachmentId = Attachment.AttrTransitGatewayAttachmentId;
        var attachmentArn = stack.FormatArn(new ArnComponents
        {
            Service = "ec2",
            Region = props.ClientRegion,
            Resource = "transit-gateway-attachment",
            ResourceName = attachmentId,
        });
        var clientRouteTableArn = stack.FormatArn(new ArnComponents
        {
            Service = "ec2",
            Region = props.ClientRegion,
            Resource = "transit-gateway-route-table",
            ResourceName = props.ClientRouteTableId,
        });

        Accept = new AwsCustomResource(this, "Accept", new AwsCustomResourceProps
        {
            OnCreate = new AwsSdkCall
            {
                Service = "EC2",
                Action = "acceptTransitGatewayPeeringAttachment",
                Region = props.ClientRegion,
                Parameters = new Dictionary<string, object> { ["TransitGatewayAttachmentId"] = attachmentId },
                PhysicalResourceId = PhysicalResourceId.Of(attachmentId),
            },
            Policy = AwsCustomResourcePolicy.FromStatements(
            [
                new PolicyStatement(new PolicyStatementProps { Actions = ["ec2:AcceptTransitGatewayPeeringAttachment"], Resources = [attachmentArn] }),
            ]),
            InstallLatestAwsSdk = false,
        });

        var waiter = BuildWaiter(props.ClientRegion, attachmentId);
        waiter.Node.AddDependency(Accept);

        // Worker side: the peering attachment joins this gateway's route table, with one static route to the client.
        var association = new CfnTransitGatewayRouteTableAssociation(this, "WorkerAssociation", new CfnTransitGatewayRouteTableAssociationProps
        {
            TransitGatewayAttachmentId = attachmentId,
            TransitGatewayRouteTableId = props.Network.RouteTable.Ref,
        });
        association.Node.AddDependency(waiter);
        WorkerRoute = new CfnTransitGatewayRoute(this, "ToClient", new CfnTransitGatewayRouteProps
        {
            DestinationCidrBlock = props.ClientCidr.ToString(),
            TransitGatewayAttachmentId = attachmentId,
            TransitGatewayRouteTableId = props.Network.RouteTable.Ref,
        });
        WorkerRoute.Node.AddDependency(waiter);

        // Client side: the same attachment joins the client's route table, with one static route back to this worker.
        var clientAssociation = new AwsCustomResource(this, "ClientAssociation", new AwsCustomResourceProps
        {
            OnCreate = new AwsSdkCall
            {
                Service = "EC2",
                Action = "associateTransitGatewayRouteTable",
                Region = props.ClientRegion,
                Parameters = new Dictionary<string, object>
                {
                    ["TransitGatewayAttachmentId"] = attachmentId,
                    ["TransitGatewayRouteTableId"] = props.ClientRouteTableId,
                },
                PhysicalResourceId = PhysicalResourceId.Of(attachmentId + "-association"),
            },
            OnDelete = new AwsSdkCall
            {
                Service = "EC2",
                Action = "disassociateTransitGatewayRouteTable",
                Region = props.ClientRegion,
                Parameters = new Dictionary<string, object>
                {
                    ["TransitGatewayAttachmentId"] = attachmentId,
                    ["TransitGatewayRouteTableId"] = props.ClientRouteTableId,
                },
                IgnoreErrorCodesMatching = "InvalidAssociation.NotFound|InvalidTransitGatewayAttachmentID.NotFound",
            },
            Policy = AwsCustomResourcePolicy.FromStatements(
            [
                new PolicyStatement(new PolicyStatementProps
                {
                    Actions = ["ec2:AssociateTransitGatewayRouteTable", "ec2:DisassociateTransitGatewayRouteTable"],
                    Resources = [attachmentArn, clientRouteTableArn],
                }),
            ]),
            InstallLatestAwsSdk = false,
        });
        clientAssociation.Node.AddDependency(waiter);

        ClientRoute = new AwsCustomResource(this, "ClientRoute", new AwsCustomResourceProps
        {
            OnCreate = new AwsSdkCall
            {
                Service = "EC2",
                Action = "createTransitGatewayRoute",
                Region = props.ClientRegion,
                Parameters = new Dictionary<string, object>
                {
                    ["DestinationCidrBlock"] = props.WorkerCidr.ToString(),
                    ["TransitGatewayAttachmentId"] = attachmentId,
                    ["TransitGatewayRouteTableId"] = props.ClientRouteTableId,
                },
                PhysicalResourceId = PhysicalResourceId.Of(attachmentId + "-route"),
            },
            OnDelete = new AwsSdkCall
            {
                Service = "EC2",
                Action = "deleteTransitGatewayRoute",
                Region = props.ClientRegion,
                Parameters = new Dictionary<string, object>
                {
                    ["DestinationCidrBlock"] = props.WorkerCidr.ToString(),
                    ["TransitGatewayRouteTableId"] = props.ClientRouteTableId,
                },
                IgnoreErrorCodesMatching = "InvalidRoute.NotFound",
            },
            Policy = AwsCustomResourcePolicy.FromStatements(
            [
                new PolicyStatement(new PolicyStatementProps
                {
                    Actions = ["ec2:CreateTransitGatewayRoute", "ec2:DeleteTransitGatewayRoute"],
                    Resources = [attachmentArn, clientRouteTableArn],
                }),
            ]),
            InstallLatestAwsSdk = false,
        });
        ClientRoute.Node.AddDependency(clientAssociation);
    }

    public CfnTransitGatewayPeeringAttachment Attachment { get; }

    public AwsCustomResource Accept { get; }

    public CfnTransitGatewayRoute WorkerRoute { get; }

    public AwsCustomResource ClientRoute { get; }

    private CustomResource BuildWaiter(string clientRegion, string attachmentId)
    {
        var handler = new Function(this, "WaitForAvailable", new FunctionProps
        {
            Runtime = new Runtime(CurrentLambdaRuntimes.Node, RuntimeFamily.NODEJS, new LambdaRuntimeProps { SupportsInlineCode = true }),
            Handler = "index.isComplete",
            Code = Code.FromInline(WaiterSource),
            Timeout = Duration.Seconds(30),
            Description = "Proxima: completes when the Transit Gateway peering attachment is available",
        });
        handler.AddToRolePolicy(new PolicyStatement(new PolicyStatementProps
        {
            // Describe* calls have no resource-level permissions in EC2.
            Actions = ["ec2:DescribeTransitGatewayPeeringAttachments"],
            Resources = ["*"],
        }));
        var onEvent = new Function(this, "WaitOnEvent", new FunctionProps
        {
            Runtime = new Runtime(CurrentLambdaRuntimes.Node, RuntimeFamily.NODEJS, new LambdaRuntimeProps { SupportsInlineCode = true }),
            Handler = "index.onEvent",
            Code = Code.FromInline(WaiterSource),
            Timeout = Duration.Seconds(10),
            Description = "Proxima: peering waiter (event)",
        });
        var provider = new Provider(this, "WaitProvider", new ProviderProps
        {
            OnEventHandler = onEvent,
            IsCompleteHandler = handler,
            QueryInterval = Duration.Seconds(20),
            TotalTimeout = Duration.Minutes(30),
            LogRetention = RetentionDays.ONE_WEEK,
        });
        return new CustomResource(this, "AttachmentAvailable", new CustomResourceProps
        {
            ServiceToken = provider.ServiceToken,
            ResourceType = "Custom::ProximaPeeringAvailable",
            Properties = new Dictionary<string, object>
            {
                ["AttachmentId"] = attachmentId,
                ["Region"] = clientRegion,
            },
        });
    }

    private const string WaiterSource = """
        const { EC2Client, DescribeTransitGatewayPeeringAttachmentsCommand } = require('@aws-sdk/client-ec2');
        exports.onEvent = async (event) => ({ PhysicalResourceId: event.ResourceProperties.AttachmentId });
        exports.isComplete = async (event) => {
          if (event.RequestType === 'Delete') return { IsComplete: true };
          const { AttachmentId, Region } = event.ResourceProperties;
          const ec2 = new EC2Client({ region: Region });
          const out = await ec2.send(new DescribeTransitGatewayPeeringAttachmentsCommand({ TransitGatewayAttachmentIds: [AttachmentId] }));
          const state = out.TransitGatewayPeeringAttachments?.[0]?.State;
          if (['failed', 'failing', 'rejected', 'rejecting', 'deleted', 'deleting'].includes(state)) {
            throw new Error(`peering attachment ${AttachmentId} is ${state}`);
          }
          return { IsComplete: state === 'available' };
        };
        """;
}
