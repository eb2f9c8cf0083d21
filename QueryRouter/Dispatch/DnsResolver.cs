using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>A service endpoint from DNS: an address and a port.</summary>
internal readonly record struct DnsEndpoint(IPAddress Address, int Port);

/// <summary>
/// A minimal stub resolver (RFC 1035, RFC 2782 SRV, RFC 6891 EDNS0) for worker discovery: one
/// question per query over UDP to the configured name servers, retried over TCP when truncated.
/// Recursion is left to the server (the VPC resolver in AWS, /etc/resolv.conf otherwise).
/// </summary>
internal sealed class DnsResolver(IReadOnlyList<IPEndPoint> servers, TimeSpan timeout)
{
    private const ushort TypeA = 1;
    private const ushort TypeSrv = 33;
    private const byte TypeOpt = 41;

    /// <summary>The name servers of <c>/etc/resolv.conf</c> (port 53), or the loopback stub when it lists none.</summary>
    public static IReadOnlyList<IPEndPoint> SystemServers()
    {
        var servers = new List<IPEndPoint>();
        if (File.Exists("/etc/resolv.conf"))
        {
            foreach (var line in File.ReadLines("/etc/resolv.conf"))
            {
                var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && parts[0] == "nameserver" && IPAddress.TryParse(parts[1], out var ip))
                {
                    servers.Add(new IPEndPoint(ip, 53));
                }
            }
        }

        return servers.Count > 0 ? servers : [new IPEndPoint(IPAddress.Loopback, 53)];
    }

    /// <summary>
    /// The endpoints of <paramref name="name"/>: its SRV records (target addresses from the additional
    /// section, else an A query per target), or — when it has none — its A records with <paramref name="defaultPort"/>.
    /// </summary>
    /// <exception cref="DnsException">No server answered, or one answered with an error other than NXDOMAIN.</exception>
    public async Task<List<DnsEndpoint>> ResolveServiceAsync(string name, int defaultPort, CancellationToken cancellationToken)
    {
        var srv = await QueryAsync(name, TypeSrv, cancellationToken);
        var result = new List<DnsEndpoint>();
        if (srv.Srv.Count == 0)
        {
            var a = srv.A.Count > 0 ? srv : await QueryAsync(name, TypeA, cancellationToken);
            foreach (var (_, address) in a.A)
            {
                result.Add(new DnsEndpoint(address, defaultPort));
            }

            return result;
        }

        foreach (var (target, port) in srv.Srv)
        {
            var found = false;
            foreach (var (owner, address) in srv.A)
            {
                if (string.Equals(owner, target, StringComparison.OrdinalIgnoreCase))
                {
                    result.Add(new DnsEndpoint(address, port));
                    found = true;
                }
            }

            if (!found)
            {
                foreach (var (_, address) in (await QueryAsync(target, TypeA, cancellationToken)).A)
                {
                    result.Add(new DnsEndpoint(address, port));
                }
            }
        }

        return result;
    }

    private async Task<DnsAnswer> QueryAsync(string name, ushort type, CancellationToken cancellationToken)
    {
        var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        var query = BuildQuery(id, name, type);
        Exception? last = null;
        foreach (var server in servers)
        {
            try
            {
                var response = await ExchangeUdpAsync(server, query, cancellationToken);
                var answer = Parse(response, id, name);
                if (answer.Truncated)
                {
                    answer = Parse(await ExchangeTcpAsync(server, query, cancellationToken), id, name);
                }

                return answer;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException or DnsException or IOException && !cancellationToken.IsCancellationRequested)
            {
                last = ex;
            }
        }

        throw new DnsException($"DNS {(type == TypeSrv ? "SRV" : "A")} query for '{name}' failed at {string.Join(", ", servers)}: {last?.Message}", last);
    }

    private async Task<byte[]> ExchangeUdpAsync(IPEndPoint server, byte[] query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken);
        var buffer = new byte[4096];
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return buffer[..n];
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer from {server} within {timeout.TotalMilliseconds:0} ms");
        }
    }

    private async Task<byte[]> ExchangeTcpAsync(IPEndPoint server, byte[] query, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient(server.AddressFamily);
            await client.ConnectAsync(server, cts.Token);
            var stream = client.GetStream();
            var framed = new byte[query.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed, 2);
            await stream.WriteAsync(framed, cts.Token);
            var length = new byte[2];
            await stream.ReadExactlyAsync(length, cts.Token);
            var response = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
            await stream.ReadExactlyAsync(response, cts.Token);
            return response;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no TCP answer from {server} within {timeout.TotalMilliseconds:0} ms");
        }
    }

    internal static byte[] BuildQuery(ushort id, string name, ushort type)
    {
        var message = new List<byte>(64);
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header, id);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], 0x0100); // RD: recursion desired
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], 1); // QDCOUNT
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], 1); // ARCOUNT: the EDNS0 OPT record
        message.AddRange(header.ToArray());
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            var bytes = Encoding.ASCII.GetBytes(label);
            if (bytes.Length is 0 or > 63)
            {
                throw new DnsException($"'{name}' is not a DNS name (label '{label}')");
            }

            message.Add((byte)bytes.Length);
            message.AddRange(bytes);
        }

        message.Add(0);
        message.AddRange([(byte)(type >> 8), (byte)type, 0, 1]); // QTYPE, QCLASS IN
        // OPT: root name, type 41, UDP payload 4096, extended RCODE/flags 0, no options.
        message.AddRange([0, 0, TypeOpt, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
        return [.. message];
    }

    internal static DnsAnswer Parse(byte[] m, ushort id, string name)
    {
        if (m.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(m) != id)
        {
            throw new DnsException($"a DNS answer for '{name}' does not match the query");
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(2));
        var rcode = flags & 0xF;
        var answer = new DnsAnswer { Truncated = (flags & 0x0200) != 0 };
        if (rcode == 3)
        {
            return answer; // NXDOMAIN: the service has no instances (yet)
        }

        if (rcode != 0)
        {
            throw new DnsException($"DNS server answered '{name}' with RCODE {rcode}");
        }

        var qd = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(4));
        var records = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(6)) + BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(8)) + BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(10));
        var pos = 12;
        for (var q = 0; q < qd; q++)
        {
            ReadName(m, ref pos);
            pos += 4;
        }

        for (var r = 0; r < records && pos < m.Length; r++)
        {
            var owner = ReadName(m, ref pos);
            if (pos + 10 > m.Length)
            {
                throw new DnsException($"a DNS answer for '{name}' is truncated");
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(pos));
            var length = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(pos + 8));
            var data = pos + 10;
            if (data + length > m.Length)
            {
                throw new DnsException($"a DNS record for '{owner}' runs past the message");
            }

            if (type == TypeA && length == 4)
            {
                answer.A.Add((owner, new IPAddress(m.AsSpan(data, 4))));
            }
            else if (type == TypeSrv && length >= 7)
            {
                var port = BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(data + 4));
                var target = data + 6;
                answer.Srv.Add((ReadName(m, ref target), port));
            }

            pos = data + length;
        }

        return answer;
    }

    /// <summary>A (possibly compressed) domain name at <paramref name="pos"/>, lower-cased, without the trailing dot.</summary>
    private static string ReadName(byte[] m, ref int pos)
    {
        var name = new StringBuilder();
        var p = pos;
        var jumped = false;
        for (var hops = 0; hops < 128; hops++)
        {
            if (p >= m.Length)
            {
                throw new DnsException("a DNS name runs past the message");
            }

            int len = m[p];
            if (len == 0)
            {
                if (!jumped)
                {
                    pos = p + 1;
                }

                return name.ToString().ToLowerInvariant();
            }

            if ((len & 0xC0) == 0xC0)
            {
                if (p + 1 >= m.Length)
                {
                    throw new DnsException("a DNS name pointer runs past the message");
                }

                if (!jumped)
                {
                    pos = p + 2;
                }

                p = ((len & 0x3F) << 8) | m[p + 1];
                jumped = true;
                continue;
            }

            if (p + 1 + len > m.Length)
            {
                throw new DnsException("a DNS label runs past the message");
            }

            if (name.Length > 0)
            {
                name.Append('.');
            }

            name.Append(Encoding.ASCII.GetString(m, p + 1, len));
            p += 1 + len;
        }

        throw new DnsException("a DNS name has a compression loop");
    }
}

/// <summary>The records of one answer the resolver uses.</summary>
internal sealed class DnsAnswer
{
    public bool Truncated { get; init; }

    public List<(string Owner, IPAddress Address)> A { get; } = [];

    public List<(string Target, int Port)> Srv { get; } = [];
}

/// <summary>A DNS lookup that failed (no server answered, or an error answer).</summary>
internal sealed class DnsException(string message, Exception? inner = null) : Exception(message, inner);
