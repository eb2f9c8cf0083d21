"""A loopback DNS server (Debian's python3-dnslib) whose answers a test changes while it runs.

argv[1]: a JSON zone file, re-read for every query:
  {"records": [{"name": "worker-r1.ns", "type": "SRV", "target": "w1.ns", "port": 7001},
               {"name": "w1.ns", "type": "A", "address": "127.0.0.1"},
               {"name": "worker-r2.ns", "type": "CNAME", "target": "nlb.elb"}],
   "additional": true,      # put the SRV targets' A records in the additional section
   "chase_cname": true,     # answer a CNAME'd name with the CNAME and the target's records (as the VPC resolver
                            # does), or with the CNAME alone (the client must ask for the target)
   "truncate_udp": false}   # answer UDP with TC set and no records (the client must retry over TCP)
Serves UDP and TCP on one loopback port and prints it on the first line; runs until stdin closes.
"""
import json
import socket
import socketserver
import struct
import sys
import threading

from dnslib import A, CNAME, DNSRecord, QTYPE, RCODE, RR, SRV

zone_path = sys.argv[1]


def answer(data, tcp):
    request = DNSRecord.parse(data)
    with open(zone_path) as f:
        zone = json.load(f)
    reply = request.reply()
    qname = str(request.q.qname).rstrip(".").lower()
    qtype = QTYPE[request.q.qtype]
    records = zone.get("records", [])
    known = False
    name = qname
    for _ in range(10):
        cname = None
        for r in records:
            if r["name"].lower() != name:
                continue
            known = True
            if r["type"] == "CNAME":
                cname = r["target"].lower()
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(cname), ttl=5))
            elif r["type"] != qtype:
                continue
            elif qtype == "SRV":
                reply.add_answer(RR(name, QTYPE.SRV, rdata=SRV(0, 0, r["port"], r["target"]), ttl=5))
            elif qtype == "A":
                reply.add_answer(RR(name, QTYPE.A, rdata=A(r["address"]), ttl=5))
        if cname is None or not zone.get("chase_cname", True):
            break
        name = cname
    if qtype == "SRV" and zone.get("additional", True):
        for rr in [rr for rr in reply.rr if rr.rtype == QTYPE.SRV]:
            target = str(rr.rdata.target).rstrip(".").lower()
            for r in records:
                if r["name"].lower() == target and r["type"] == "A":
                    reply.add_ar(RR(target, QTYPE.A, rdata=A(r["address"]), ttl=5))
    if not known:
        reply.header.rcode = RCODE.NXDOMAIN
    if not tcp and zone.get("truncate_udp"):
        reply = request.reply()
        reply.header.tc = 1
    return reply.pack()


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(answer(data, False), self.client_address)


class Tcp(socketserver.BaseRequestHandler):
    def handle(self):
        (length,) = struct.unpack("!H", self.request.recv(2))
        data = b""
        while len(data) < length:
            data += self.request.recv(length - len(data))
        out = answer(data, True)
        self.request.sendall(struct.pack("!H", len(out)) + out)


for _ in range(50):
    udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
    port = udp.server_address[1]
    try:
        tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
        break
    except OSError:
        udp.server_close()
for server in (udp, tcp):
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(port, flush=True)
sys.stdin.read()
