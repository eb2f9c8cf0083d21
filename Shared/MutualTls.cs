using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Proxima.Shared;

/// <summary>
/// Mutual TLS between router and workers: a private CA signs each side's certificate, and each side
/// accepts only peers whose certificate chains to that CA (no system trust store involved).
/// Linked as source into the router, the worker and the CLI (which generates local-mode certificates).
/// </summary>
internal static class MutualTls
{
    /// <summary>
    /// Loads a certificate with its private key, each given as a PEM file path or as PEM contents (AWS
    /// injects the contents from Secrets Manager as environment variables). Ephemeral keys are
    /// re-imported so SslStream can use them. A bad PEM is an <see cref="ArgumentException"/> naming
    /// <paramref name="certName"/>/<paramref name="keyName"/> (never echoing the contents).
    /// </summary>
    public static X509Certificate2 LoadWithKey(string certPathOrPem, string keyPathOrPem, string certName = "certificate", string keyName = "key")
    {
        var certPem = ReadPem(certPathOrPem, certName);
        var keyPem = ReadPem(keyPathOrPem, keyName);
        try
        {
            using var pem = X509Certificate2.CreateFromPem(certPem, keyPem);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"{certName} / {keyName}: not a PEM certificate with its matching private key ({ex.Message})", certName, ex);
        }
    }

    /// <summary>The CA certificate, from a PEM file path or PEM contents.</summary>
    public static X509Certificate2 LoadCa(string caPathOrPem, string name = "CA certificate")
    {
        var pem = ReadPem(caPathOrPem, name);
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"{name}: not a PEM certificate ({ex.Message})", name, ex);
        }
    }

    /// <summary>PEM text from contents (anything holding <c>-----BEGIN</c>; literal <c>\n</c> escapes are undone) or from a file.</summary>
    public static string ReadPem(string pathOrPem, string name)
    {
        if (pathOrPem.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            // Secrets stored as one-line JSON strings sometimes keep "\n" escapes instead of newlines.
            return pathOrPem.Contains('\n', StringComparison.Ordinal) ? pathOrPem : pathOrPem.Replace("\\n", "\n", StringComparison.Ordinal);
        }

        if (!File.Exists(pathOrPem))
        {
            throw new ArgumentException($"{name}: neither PEM contents (-----BEGIN ...) nor an existing file: '{(pathOrPem.Length > 200 ? pathOrPem[..200] + "..." : pathOrPem)}'", name);
        }

        return File.ReadAllText(pathOrPem);
    }

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="ca"/> and is valid now.</summary>
    public static bool ChainsTo(X509Certificate? certificate, X509Certificate2 ca)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>Initial HTTP/2 receive window per router → worker stream (bytes): a merged map partial fits in one round trip.</summary>
    public const int PartialStreamWindow = 8 * 1024 * 1024;

    /// <summary>
    /// A client handler for the router: presents <paramref name="client"/>, trusts only servers signed by <paramref name="ca"/>.
    /// The stream window starts at <see cref="PartialStreamWindow"/>: with the 64 KiB default a worker's multi-MB partial
    /// waits on window updates round trip after round trip while the window grows, which dominates a cross-region unit.
    /// </summary>
    public static SocketsHttpHandler ClientHandler(X509Certificate2 client, X509Certificate2 ca) => new()
    {
        EnableMultipleHttp2Connections = true,
        InitialHttp2StreamWindowSize = PartialStreamWindow,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        KeepAlivePingDelay = TimeSpan.FromSeconds(60),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = [client],
            RemoteCertificateValidationCallback = (_, certificate, _, _) => ChainsTo(certificate, ca),
        },
    };

    /// <summary>Writes a CA, the workers' certificate (server for 127.0.0.1/localhost, and client towards pool peers) and the router's client certificate as PEM files into <paramref name="directory"/>.</summary>
    public static void GenerateLocal(string directory)
    {
        Directory.CreateDirectory(directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Proxima local CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        Write(directory, "ca", ca, caKey, writeKey: false);
        // The worker's certificate is also its client identity towards the other workers of its pool
        // (a coordinator calls its peers), hence server and client authentication.
        Issue(directory, "worker", ca, caKey, server: true, client: true);
        Issue(directory, "router", ca, caKey, server: false, client: true);
    }

    private static void Issue(string directory, string name, X509Certificate2 ca, ECDsa caKey, bool server, bool client)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=proxima-{name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection();
        if (server)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        if (client)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, true));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(90), serial);
        Write(directory, name, signed, key, writeKey: true);
    }

    private static void Write(string directory, string name, X509Certificate2 certificate, ECDsa key, bool writeKey)
    {
        File.WriteAllText(Path.Combine(directory, name + ".crt"), certificate.ExportCertificatePem());
        if (writeKey)
        {
            var keyPath = Path.Combine(directory, name + ".key");
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }
}
