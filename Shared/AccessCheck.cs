namespace Proxima.Shared;

/// <summary>
/// Per-dataset ACL rule shared by router and worker: a dataset with no groups is public; otherwise
/// the caller needs at least one of its groups. The group <c>*</c> (admin tokens) sees everything.
/// </summary>
internal static class AccessCheck
{
    public static bool Allows(IReadOnlyList<string> acl, IReadOnlyCollection<string> groups)
    {
        if (acl.Count == 0)
        {
            return true;
        }

        foreach (var g in groups)
        {
            if (g == "*")
            {
                return true;
            }

            foreach (var a in acl)
            {
                if (string.Equals(a, g, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
