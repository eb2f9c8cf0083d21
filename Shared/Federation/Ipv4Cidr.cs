using System.Globalization;

namespace Proxima.Federation;

/// <summary>An IPv4 CIDR block in canonical form (host bits zero).</summary>
internal readonly record struct Ipv4Cidr(uint Network, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0u : uint.MaxValue << (32 - PrefixLength);

    public uint Last => Network | ~Mask;

    public bool Overlaps(Ipv4Cidr other) => Network <= other.Last && other.Network <= Last;

    /// <summary>Parses <c>a.b.c.d/n</c>. Returns an explanation instead of throwing so callers can name the field.</summary>
    public static bool TryParse(string text, out Ipv4Cidr cidr, out string? error)
    {
        cidr = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = $"'{text}' is not a CIDR block (expected a.b.c.d/n)";
            return false;
        }

        var parts = text[..slash].Split('.');
        if (parts.Length != 4)
        {
            error = $"'{text}' is not an IPv4 CIDR block (expected a.b.c.d/n)";
            return false;
        }

        uint address = 0;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var octet))
            {
                error = $"'{text}' has an invalid address octet '{part}'";
                return false;
            }

            address = (address << 8) | octet;
        }

        var prefixText = text[(slash + 1)..];
        if (!int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > 32)
        {
            error = $"'{text}' has an invalid prefix length '{prefixText}'";
            return false;
        }

        var candidate = new Ipv4Cidr(address, prefix);
        if ((address & ~candidate.Mask) != 0)
        {
            var canonical = new Ipv4Cidr(address & candidate.Mask, prefix);
            error = $"'{text}' has host bits set (did you mean {canonical}?)";
            return false;
        }

        cidr = candidate;
        error = null;
        return true;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Network >> 24}.{(Network >> 16) & 0xFF}.{(Network >> 8) & 0xFF}.{Network & 0xFF}/{PrefixLength}");
}
