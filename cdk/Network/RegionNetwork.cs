using Amazon.CDK;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.Logs;
using Constructs;
using Proxima.Federation;

namespace Proxima.Cdk.Network;

internal sealed record RegionNetworkProps
{
    public required Ipv4Cidr Cidr { get; init; }

    public required int MaxAzs { get; init; }

    public required int NatGateways { get; init; }

    public required int TransitGatewayAsn { get; init; }

    /// <summary>CIDRs this VPC reaches through its Transit Gateway (the client reaches every worker; a worker only the client).</summary>
    public required IReadOnlyList<Ipv4Cidr> RemoteCidrs { get; init; }
}

/// <summary>
/// A region's network: a VPC (public subnets for NAT, private subnets for everything else) with flow logs, and a
/// Transit Gateway with its own route table, no default association/propagation, and the VPC attached to it.
/// Remote CIDRs are routed from the private subnets to the gateway; nothing else leaves through it.
/// </summary>
internal sealed class RegionNetwork : Construct
{
    public RegionNetwork(Construct scope, string id, RegionNetworkProps props)
        : base(scope, id)
    {
        var layout = SubnetLayout.For(props.Cidr.PrefixLength, props.MaxAzs);
        Vpc = new Vpc(this, "Vpc", new VpcProps
        {
            IpAddresses = IpAddresses.Cidr(props.Cidr.ToString()),
            MaxAzs = props.MaxAzs,
            NatGateways = props.NatGateways,
            SubnetConfiguration =
            [
                new SubnetConfiguration { Name = "public", SubnetType = SubnetType.PUBLIC, CidrMask = layout.PublicMask },
                new SubnetConfiguration { Name = "private", SubnetType = SubnetType.PRIVATE_WITH_EGRESS, CidrMask = layout.PrivateMask },
            ],
        });

        // Free gateway endpoint: image layers (ECR serves them from S3) and S3 reads skip the NAT gateway's per-GB charge.
        _ = Vpc.AddGatewayEndpoint("S3", new GatewayVpcEndpointOptions { Service = GatewayVpcEndpointAwsService.S3 });

        var flowLogGroup = new LogGroup(this, "FlowLogs", new LogGroupProps
        {
            Retention = RetentionDays.ONE_MONTH,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });
        Vpc.AddFlowLog("FlowLog", new FlowLogOptions
        {
            Destination = FlowLogDestination.ToCloudWatchLogs(flowLogGroup),
            TrafficType = FlowLogTrafficType.ALL,
        });

        TransitGateway = new CfnTransitGateway(this, "TransitGateway", new CfnTransitGatewayProps
        {
            AmazonSideAsn = props.TransitGatewayAsn,
            AutoAcceptSharedAttachments = "disable",
            DefaultRouteTableAssociation = "disable",
            DefaultRouteTablePropagation = "disable",
            DnsSupport = "enable",
            VpnEcmpSupport = "disable",
            Description = $"Proxima {Stack.Of(this).Region}",
            Tags = [new CfnTag { Key = "Name", Value = $"proxima-{Stack.Of(this).Region}" }],
        });

        RouteTable = new CfnTransitGatewayRouteTable(this, "RouteTable", new CfnTransitGatewayRouteTableProps
        {
            TransitGatewayId = TransitGateway.Ref,
        });

        var privateSubnets = Vpc.SelectSubnets(new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS, OnePerAz = true });
        VpcAttachment = new CfnTransitGatewayAttachment(this, "VpcAttachment", new CfnTransitGatewayAttachmentProps
        {
            TransitGatewayId = TransitGateway.Ref,
            VpcId = Vpc.VpcId,
            SubnetIds = privateSubnets.SubnetIds,
        });

        _ = new CfnTransitGatewayRouteTableAssociation(this, "VpcAssociation", new CfnTransitGatewayRouteTableAssociationProps
        {
            TransitGatewayAttachmentId = VpcAttachment.Ref,
            TransitGatewayRouteTableId = RouteTable.Ref,
        });

        // Traffic arriving over a peering is routed back into this VPC through the propagated VPC CIDR.
        _ = new CfnTransitGatewayRouteTablePropagation(this, "VpcPropagation", new CfnTransitGatewayRouteTablePropagationProps
        {
            TransitGatewayAttachmentId = VpcAttachment.Ref,
            TransitGatewayRouteTableId = RouteTable.Ref,
        });

        for (var s = 0; s < privateSubnets.Subnets.Length; s++)
        {
            var subnet = privateSubnets.Subnets[s];
            for (var r = 0; r < props.RemoteCidrs.Count; r++)
            {
                var route = new CfnRoute(this, $"ToRemote{r}Subnet{s}", new CfnRouteProps
                {
                    RouteTableId = subnet.RouteTable.RouteTableId,
                    DestinationCidrBlock = props.RemoteCidrs[r].ToString(),
                    TransitGatewayId = TransitGateway.Ref,
                });
                route.AddDependency(VpcAttachment);
            }
        }
    }

    public Vpc Vpc { get; }

    public CfnTransitGateway TransitGateway { get; }

    public CfnTransitGatewayRouteTable RouteTable { get; }

    public CfnTransitGatewayAttachment VpcAttachment { get; }
}
