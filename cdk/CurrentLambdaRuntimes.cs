using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;
using Amazon.JSII.Runtime.Deputy;
using Constructs;

namespace Proxima.Cdk;

/// <summary>
/// Moves every Lambda function in the app, including the handlers CDK 2.160 bundles (custom resources, the ECS
/// drain hook, log retention), onto runtimes Lambda still accepts for new functions: CDK 2.160 ships them on
/// nodejs20.x and python3.9, both past end of life. Their code runs unchanged on the newer runtimes.
/// </summary>
internal sealed class CurrentLambdaRuntimes : DeputyBase, IAspect
{
    public const string Node = "nodejs22.x";

    public const string Python = "python3.12";

    public void Visit(IConstruct node)
    {
        if (node is CfnFunction function)
        {
            var runtime = function.Runtime ?? "";
            if (runtime.StartsWith("nodejs", StringComparison.Ordinal))
            {
                function.Runtime = Node;
            }
            else if (runtime.StartsWith("python", StringComparison.Ordinal))
            {
                function.Runtime = Python;
            }
        }
        else if (node is CfnResource { CfnResourceType: "AWS::Lambda::Function" } resource)
        {
            // CustomResourceProvider handlers (e.g. the default security group restriction) are plain Node.js resources.
            resource.AddPropertyOverride("Runtime", Node);
        }
    }
}
