namespace Proxima.CatalogSync;

internal static class AssemblyMarker
{
}
