using Amazon.CDK.AWS.Ecr.Assets;
using Amazon.CDK.AWS.ECS;

namespace Proxima.Cdk.Images;

/// <summary>
/// The three container images, all built from the single <c>proxima</c> CLI by the Dockerfiles in <c>docker/</c>
/// with the repository root as build context (filtered by the root <c>.dockerignore</c>). Synthesis only stages the
/// context into the cloud assembly; <c>cdk deploy</c> builds and pushes the images to each region's asset repository.
/// </summary>
internal sealed class ProximaImages(string repositoryRoot)
{
    public string RepositoryRoot { get; } = repositoryRoot;

    public ContainerImage Router => FromDockerfile("docker/router.Dockerfile");

    public ContainerImage Worker => FromDockerfile("docker/worker.Dockerfile");

    public ContainerImage Sync => FromDockerfile("docker/sync.Dockerfile");

    private ContainerImage FromDockerfile(string file) => ContainerImage.FromAsset(RepositoryRoot, new AssetImageProps
    {
        File = file,
        Platform = Platform_.LINUX_AMD64,
        IgnoreMode = Amazon.CDK.IgnoreMode.DOCKER,
    });
}
