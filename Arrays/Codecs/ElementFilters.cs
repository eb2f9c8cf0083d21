using System.Text.Json;

namespace Proxima.Arrays.Codecs;

/// <summary>numcodecs filters that work element by element (delta, fixedscaleoffset, astype, quantize, bitround).</summary>
internal static class ElementFilters
{
    public static IBytesCodec? Create(string id, JsonElement config, string location) => null;
}
