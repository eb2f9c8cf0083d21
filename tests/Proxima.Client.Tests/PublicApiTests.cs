using System.Reflection;
using System.Text;

namespace Proxima.Client.Tests;

/// <summary>The SDK's public surface is a contract: any change must show up as a diff of PublicApi.txt.</summary>
public sealed class PublicApiTests
{
    [Fact]
    public void Public_api_matches_the_checked_in_signature_list()
    {
        var actual = Describe(typeof(ProximaClient).Assembly);
        var path = Path.Combine(AppContext.BaseDirectory, "PublicApi.txt");
        var expected = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        if (expected != actual)
        {
            var received = Path.Combine(AppContext.BaseDirectory, "PublicApi.received.txt");
            File.WriteAllText(received, actual);
            Assert.Fail($"The public API of Proxima.Client changed. If intended, copy {received} over tests/Proxima.Client.Tests/PublicApi.txt.\n{Diff(expected, actual)}");
        }
    }

    [Fact]
    public void Every_public_member_has_xml_docs()
    {
        var xml = Path.ChangeExtension(typeof(ProximaClient).Assembly.Location, ".xml");
        Assert.True(File.Exists(xml), xml);
        var docs = File.ReadAllText(xml);
        var missing = new List<string>();
        foreach (var type in typeof(ProximaClient).Assembly.GetExportedTypes())
        {
            if (!docs.Contains($"\"T:{type.FullName}\"", StringComparison.Ordinal))
            {
                missing.Add(type.FullName!);
            }

            foreach (var m in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (m is MethodInfo { IsSpecialName: true } || m.Name is "Equals" or "GetHashCode" or "ToString" or "<Clone>$" or "Deconstruct" or "PrintMembers" or "EqualityContract")
                {
                    continue;
                }

                var prefix = m.MemberType switch { MemberTypes.Property => "P:", MemberTypes.Method => "M:", MemberTypes.Constructor => "M:", _ => null };
                if (prefix is null)
                {
                    continue;
                }

                var name = m is ConstructorInfo ? "#ctor" : m.Name;
                if (!docs.Contains($"\"{prefix}{type.FullName}.{name}", StringComparison.Ordinal))
                {
                    missing.Add($"{type.FullName}.{name}");
                }
            }
        }

        Assert.True(missing.Count == 0, "no XML docs: " + string.Join(", ", missing.Distinct()));
    }

    internal static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes())
        {
            var kind = type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsInterface ? "interface" : type.IsAbstract && type.IsSealed ? "static class" : type.IsSealed ? "sealed class" : "class";
            var bases = new List<string>();
            if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType))
            {
                bases.Add(Name(b));
            }

            foreach (var i in type.GetInterfaces())
            {
                bases.Add(Name(i));
            }

            bases.Sort(StringComparer.Ordinal);
            lines.Add($"{kind} {Name(type)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}");
            foreach (var m in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                var line = m switch
                {
                    ConstructorInfo c => $"  ctor({Parameters(c)})",
                    MethodInfo { IsSpecialName: true } => null,
                    MethodInfo x => $"  {(x.IsStatic ? "static " : "")}{Name(x.ReturnType)} {x.Name}({Parameters(x)})",
                    PropertyInfo p => $"  {Name(p.PropertyType)} {p.Name} {{ {(p.GetMethod?.IsPublic == true ? "get; " : "")}{(p.SetMethod?.IsPublic == true ? (p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Length > 0 ? "init; " : "set; ") : "")}}}"
                        + (p.GetIndexParameters().Length > 0 ? $" [{string.Join(", ", p.GetIndexParameters().Select(i => Name(i.ParameterType)))}]" : ""),
                    FieldInfo f => $"  field {Name(f.FieldType)} {f.Name}",
                    EventInfo e => $"  event {Name(e.EventHandlerType!)} {e.Name}",
                    _ => null,
                };
                if (line is not null && !m.Name.StartsWith('<'))
                {
                    lines.Add($"{Name(type)}::{line.Trim()}");
                }
            }
        }

        lines.Sort(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var l in lines)
        {
            sb.Append(l).Append('\n');
        }

        return sb.ToString();
    }

    private static string Parameters(MethodBase m) =>
        string.Join(", ", m.GetParameters().Select(p => $"{(p.IsDefined(typeof(ParamArrayAttribute)) ? "params " : "")}{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type t)
    {
        if (t.IsArray)
        {
            return Name(t.GetElementType()!) + "[]";
        }

        if (t.IsByRef)
        {
            return "ref " + Name(t.GetElementType()!);
        }

        if (!t.IsGenericType)
        {
            return t.FullName ?? t.Name;
        }

        var name = t.GetGenericTypeDefinition().FullName!;
        name = name[..name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>";
    }

    private static string Diff(string expected, string actual)
    {
        var e = expected.Split('\n').ToHashSet();
        var a = actual.Split('\n').ToHashSet();
        var sb = new StringBuilder();
        foreach (var l in expected.Split('\n').Where(l => !a.Contains(l)))
        {
            sb.Append("- ").Append(l).Append('\n');
        }

        foreach (var l in actual.Split('\n').Where(l => !e.Contains(l)))
        {
            sb.Append("+ ").Append(l).Append('\n');
        }

        return sb.ToString();
    }
}
