using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Proxima.Protocol.Grpc;

/// <summary>Self-signed certificates for local TLS (tests, <c>proxima up</c> on loopback).</summary>
public static class GrpcCertificates
{
    /// <summary>
    /// Creates a self-signed ECDSA P-256 server certificate for <c>localhost</c>, 127.0.0.1 and ::1
    /// (plus <paramref name="extraDnsNames"/>), valid from yesterday for <paramref name="validity"/>
    /// (default 1 year), with an exportable private key usable by Kestrel.
    /// </summary>
    public static X509Certificate2 CreateSelfSigned(string subjectName = "localhost", TimeSpan? validity = null, params string[] extraDnsNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectName);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + subjectName, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        if (!string.Equals(subjectName, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            san.AddDnsName(subjectName);
        }

        foreach (var name in extraDnsNames)
        {
            san.AddDnsName(name);
        }

        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var cert = request.CreateSelfSigned(now.AddDays(-1), now + (validity ?? TimeSpan.FromDays(365)));

        // Round-trip through PKCS#12 so the key is a persisted, exportable one on every platform.
        var pfx = cert.Export(X509ContentType.Pkcs12);
        return X509CertificateLoader.LoadPkcs12(pfx, null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>The certificate in PEM form (no key), e.g. as a root for Python's grpc.ssl_channel_credentials.</summary>
    public static string ExportCertificatePem(X509Certificate2 certificate) => certificate.ExportCertificatePem();

    /// <summary>The private key in PKCS#8 PEM form.</summary>
    public static string ExportPrivateKeyPem(X509Certificate2 certificate)
    {
        using var ec = certificate.GetECDsaPrivateKey();
        if (ec is not null)
        {
            return ec.ExportPkcs8PrivateKeyPem();
        }

        using var rsa = certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException("Certificate has no ECDSA or RSA private key.");
        return rsa.ExportPkcs8PrivateKeyPem();
    }
}
