using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Proxima.Shared;

/// <summary>A service endpoint from DNS: an address and a port.</summary>
internal readonly record struct DnsEndpoint(IPAddress Address, int Port);

/// <summary>
/// A minimal stub resolver (RFC 1035, RFC 2782 SRV, RFC 6891 EDNS0) for worker discovery: one
/// question per query over UDP to the configured name servers, retried over TCP when truncated.
/// Recursion is left to the server (the VPC resolver in AWS, /etc/resolv.conf otherwise). CNAMEs are
/// followed: through the answer's own records when the server chased the chain (as the VPC resolver
/// does), else by asking for the chain's last target.
/// </summary>
internal sealed class DnsResolver(IReadOnlyList<IPEndPoint> servers, TimeSpan timeout)
{
    private const ushort TypeA = 1;
    private const ushort TypeCname = 5;
    private const ushort TypeSrv = 33;
    private const int MaxCnameHops = 8;
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
    /// A CNAME anywhere on the way (the name itself, an SRV target) is followed to its addresses.
    /// </summary>
    /// <exception cref="DnsException">No server answered, one answered with an error other than NXDOMAIN, or a CNAME chain loops or is too long.</exception>
    public async Task<List<DnsEndpoint>> ResolveServiceAsync(string name, int defaultPort, CancellationToken cancellationToken)
    {
        var srv = await QueryAsync(name, TypeSrv, cancellationToken);
        var result = new List<DnsEndpoint>();
        if (srv.Srv.Count == 0)
        {
            // A CNAME'd name (Cloud Map CNAME service → the region's NLB) answers an SRV query with the CNAME and no SRV.
            await AddAddressesAsync(srv, name, defaultPort, result, cancellationToken);
            return result;
        }

        foreach (var (target, port) in srv.Srv)
        {
            await AddAddressesAsync(srv, target, port, result, cancellationToken);
        }

        return result;
    }

    /// <summary>
    /// Adds the addresses of <paramref name="name"/> with <paramref name="port"/>: the A records at the end of its
    /// CNAME chain in <paramref name="known"/> if it has them, else from A queries, the first for the chain's last
    /// target, then along any chain those answers leave unfinished.
    /// </summary>
    private async Task AddAddressesAsync(DnsAnswer known, string name, int port, List<DnsEndpoint> result, CancellationToken cancellationToken)
    {
        var current = FollowChain(known, name, port, result);
        for (var hop = 0; current is not null; hop++)
        {
            if (hop > MaxCnameHops)
            {
                throw new DnsException($"DNS name '{name}' has a CNAME chain longer than {MaxCnameHops} hops (last '{current}')");
            }

            var next = FollowChain(await QueryAsync(current, TypeA, cancellationToken), current, port, result);
            current = string.Equals(next, current, StringComparison.OrdinalIgnoreCase) ? null : next; // no records at all
        }
    }

    /// <summary>
    /// Follows <paramref name="name"/>'s CNAMEs through <paramref name="answer"/> and adds the A records of the chain's
    /// end. Returns null when it added some, else the last name of the chain (<paramref name="name"/> itself when the
    /// answer has no CNAME for it), whose addresses are still to be asked for.
    /// </summary>
    private static string? FollowChain(DnsAnswer answer, string name, int port, List<DnsEndpoint> result)
    {
        var current = name;
        for (var hop = 0; hop <= MaxCnameHops; hop++)
        {
            var found = false;
            foreach (var (owner, address) in answer.A)
            {
                if (string.Equals(owner, current, StringComparison.OrdinalIgnoreCase))
                {
                    result.Add(new DnsEndpoint(address, port));
                    found = true;
                }
            }

            if (found)
            {
                return null;
            }

            string? next = null;
            foreach (var (owner, target) in answer.Cname)
            {
                if (string.Equals(owner, current, StringComparison.OrdinalIgnoreCase))
                {
                    next = target;
                    break;
                }
            }

            if (next is null)
            {
                return current;
            }

            if (string.Equals(next, name, StringComparison.OrdinalIgnoreCase))
            {
                throw new DnsException($"DNS name '{name}' has a CNAME loop (through '{current}')");
            }

            current = next;
        }

        throw new DnsException($"DNS name '{name}' has a CNAME chain longer than {MaxCnameHops} hops (last '{current}')");
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
            else if (type == TypeCname && length >= 1)
            {
                var target = data;
                answer.Cname.Add((owner, ReadName(m, ref target)));
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

    public List<(string Owner, string Target)> Cname { get; } = [];
}

/// <summary>A DNS lookup that failed (no server answered, or an error answer).</summary>
internal sealed class DnsException(string message, Exception? inner = null) : Exception(message, inner);
