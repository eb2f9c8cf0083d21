using Amazon.CDK;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.FSx;
using Constructs;
using Proxima.Federation;

namespace Proxima.Cdk.Worker;

/// <summary>
/// FSx for Lustre (PERSISTENT_2) linked to the region's S3 dataset by a data repository association that imports
/// new, changed and deleted objects automatically. The security groups open the Lustre ports (988, 1018-1023)
/// only inside the VPC.
/// </summary>
internal sealed class LustreStorage : Construct
{
    public static readonly (int From, int To)[] LustrePorts = [(988, 988), (1018, 1023)];

    public LustreStorage(Construct scope, string id, Vpc vpc, WorkerConfig worker)
        : base(scope, id)
    {
        SecurityGroup = new SecurityGroup(this, "FileSystemSg", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Proxima FSx for Lustre: Lustre ports from inside the VPC only",
            AllowAllOutbound = true,
        });
        AllowLustreFromVpc(SecurityGroup, worker.Cidr);

        var subnet = vpc.SelectSubnets(new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS }).Subnets[0];
        FileSystem = new CfnFileSystem(this, "FileSystem", new CfnFileSystemProps
        {
            FileSystemType = "LUSTRE",
            StorageType = "SSD",
            StorageCapacity = worker.FsxFileSystemStorageGiB,
            SubnetIds = [subnet.SubnetId],
            SecurityGroupIds = [SecurityGroup.SecurityGroupId],
            FileSystemTypeVersion = "2.15",
            LustreConfiguration = new CfnFileSystem.LustreConfigurationProperty
            {
                DeploymentType = "PERSISTENT_2",
                PerUnitStorageThroughput = worker.FsxThroughputPerTiB,
                DataCompressionType = "LZ4",
                WeeklyMaintenanceStartTime = "7:03:00",
            },
            Tags = [new CfnTag { Key = "Name", Value = $"proxima-{Stack.Of(this).Region}" }],
        });
        // The file system only caches the S3 dataset: it can be recreated, so a destroy removes it.
        FileSystem.ApplyRemovalPolicy(RemovalPolicy.DESTROY);

        // The worker serves <data-root>/<region>/ (DESIGN.md §2: DIR/R locally, /fsx/R in AWS), so the dataset is
        // linked under the region's folder and dataset ids are the same in both modes.
        FileSystemPath = DataRepositoryPath(worker);
        DataRepositoryAssociation = new CfnDataRepositoryAssociation(this, "DatasetAssociation", new CfnDataRepositoryAssociationProps
        {
            FileSystemId = FileSystem.Ref,
            FileSystemPath = FileSystemPath,
            DataRepositoryPath = worker.Dataset,
            BatchImportMetaDataOnCreate = true,
            ImportedFileChunkSize = 1024,
            // Automatic import needs S3 event notifications on the bucket, which only its owner can configure; for a
            // third-party bucket set autoImport false and the nightly sync's data repository task imports instead.
            S3 = worker.AutoImport
                ? new CfnDataRepositoryAssociation.S3Property
                {
                    AutoImportPolicy = new CfnDataRepositoryAssociation.AutoImportPolicyProperty { Events = ["NEW", "CHANGED", "DELETED"] },
                }
                : null,
        });

        FileSystemArn = Stack.Of(this).FormatArn(new ArnComponents
        {
            Service = "fsx",
            Resource = "file-system",
            ResourceName = FileSystem.Ref,
        });
    }

    public SecurityGroup SecurityGroup { get; }

    public CfnFileSystem FileSystem { get; }

    public CfnDataRepositoryAssociation DataRepositoryAssociation { get; }

    public string FileSystemArn { get; }

    public string FileSystemPath { get; }

    public string DnsName => FileSystem.AttrDnsName;

    public string MountName => FileSystem.AttrLustreMountName;

    /// <summary>Where the S3 dataset appears on the file system: <c>/&lt;region&gt;/&lt;lustreFileSystemPath&gt;</c>.</summary>
    public static string DataRepositoryPath(WorkerConfig worker) => $"/{worker.Region}/{worker.LustreFileSystemPath}";

    public static void AllowLustreFromVpc(SecurityGroup group, Ipv4Cidr vpcCidr)
    {
        foreach (var (from, to) in LustrePorts)
        {
            var port = from == to ? Port.Tcp(from) : Port.TcpRange(from, to);
            group.AddIngressRule(Peer.Ipv4(vpcCidr.ToString()), port, "Lustre inside the VPC");
        }
    }
}
