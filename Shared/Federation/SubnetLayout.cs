namespace Proxima.Federation;

/// <summary>
/// How a region's VPC is split: per availability zone one small public subnet (NAT, 1/8 of a private one) and one
/// private subnet, the private subnets together taking half the VPC. Scales with the VPC's size and AZ count.
/// </summary>
internal readonly record struct SubnetLayout(int PublicMask, int PrivateMask)
{
    /// <summary>The smallest subnet AWS allows.</summary>
    public const int SmallestSubnetPrefix = 28;

    public static SubnetLayout For(int vpcPrefix, int availabilityZones)
    {
        var azBits = 0;
        while ((1 << azBits) < availabilityZones)
        {
            azBits++;
        }

        var privateMask = vpcPrefix + azBits + 1;
        return new SubnetLayout(privateMask + 3, privateMask);
    }

    /// <summary>The longest VPC prefix that still fits the layout for <paramref name="availabilityZones"/>.</summary>
    public static int LongestVpcPrefix(int availabilityZones)
    {
        var prefix = SmallestSubnetPrefix;
        while (prefix > 0 && For(prefix, availabilityZones).PublicMask > SmallestSubnetPrefix)
        {
            prefix--;
        }

        return prefix;
    }
}
