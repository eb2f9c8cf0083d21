using Proxima.Federation;
using Xunit;

namespace Proxima.Cdk.Tests;

public sealed class Ipv4CidrTests
{
    [Theory]
    [InlineData("10.0.0.0/16", "10.0.0.0/16")]
    [InlineData("192.168.4.0/22", "192.168.4.0/22")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("172.31.255.255/32", "172.31.255.255/32")]
    public void Parses_and_prints_canonical_blocks(string text, string expected)
    {
        Assert.True(Ipv4Cidr.TryParse(text, out var cidr, out var error), error);
        Assert.Equal(expected, cidr.ToString());
    }

    [Theory]
    [InlineData("10.0.0.0")]
    [InlineData("10.0.0/16")]
    [InlineData("10.0.0.0.0/16")]
    [InlineData("10.0.0.256/24")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/")]
    [InlineData(" 10.0.0.0/16")]
    [InlineData("10.0.0.128/24")]
    [InlineData("a.b.c.d/8")]
    public void Rejects_malformed_blocks_with_a_reason(string text)
    {
        Assert.False(Ipv4Cidr.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("10.0.0.0/16", "10.1.0.0/16", false)]
    [InlineData("10.0.0.0/16", "10.0.255.0/24", true)]
    [InlineData("10.0.0.0/8", "10.200.0.0/16", true)]
    [InlineData("10.0.0.0/17", "10.0.128.0/17", false)]
    [InlineData("192.168.0.0/16", "192.168.0.0/16", true)]
    public void Overlap_is_symmetric_and_exact(string a, string b, bool overlaps)
    {
        Assert.True(Ipv4Cidr.TryParse(a, out var x, out _));
        Assert.True(Ipv4Cidr.TryParse(b, out var y, out _));
        Assert.Equal(overlaps, x.Overlaps(y));
        Assert.Equal(overlaps, y.Overlaps(x));
    }

    [Theory]
    [InlineData(16, 2, 21, 18)]
    [InlineData(20, 2, 25, 22)]
    [InlineData(16, 3, 22, 19)]
    [InlineData(16, 6, 23, 20)]
    public void Subnet_layout_scales_with_vpc_size_and_zone_count(int prefix, int zones, int publicMask, int privateMask)
    {
        Assert.Equal(new SubnetLayout(publicMask, privateMask), SubnetLayout.For(prefix, zones));
    }

    [Theory]
    [InlineData(2, 23)]
    [InlineData(3, 22)]
    [InlineData(4, 22)]
    [InlineData(6, 21)]
    public void Longest_vpc_prefix_keeps_public_subnets_at_most_slash_28(int zones, int longest)
    {
        Assert.Equal(longest, SubnetLayout.LongestVpcPrefix(zones));
        Assert.True(SubnetLayout.For(longest, zones).PublicMask <= 28);
        Assert.True(SubnetLayout.For(longest + 1, zones).PublicMask > 28);
    }
}
