"""grpcio client for interop tests: runs one case against 127.0.0.1:<port> and prints one JSON
object with what it observed (status codes, sizes, metadata). Assertions live in the C# tests."""
import argparse
import base64
import json
import sys

import grpc

import interop_messages

METHOD_UNARY = "/" + interop_messages.SERVICE + "/Unary"
METHOD_STREAM = "/" + interop_messages.SERVICE + "/Stream"


def code_of(err):
    return err.code().value[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--descriptor", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--tls-root")
    ap.add_argument("--tag", default="-")
    args = ap.parse_args()
    EchoRequest, EchoResponse = interop_messages.load(args.descriptor)
    options = [("grpc.max_receive_message_length", 4 * 1024 * 1024),
               ("grpc.max_send_message_length", -1),
               ("grpc.enable_retries", 0)]
    if args.tls_root:
        with open(args.tls_root, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        # Connect to 127.0.0.1 (where the server listens) and check the certificate for localhost.
        channel = grpc.secure_channel(f"127.0.0.1:{args.port}", creds,
                                      options=options + [("grpc.ssl_target_name_override", "localhost")])
    else:
        channel = grpc.insecure_channel(f"127.0.0.1:{args.port}", options=options)
    unary = channel.unary_unary(METHOD_UNARY, request_serializer=EchoRequest.SerializeToString,
                                response_deserializer=EchoResponse.FromString)
    stream = channel.unary_stream(METHOD_STREAM, request_serializer=EchoRequest.SerializeToString,
                                  response_deserializer=EchoResponse.FromString)
    out = {"case": args.case}
    case = args.case

    if case == "empty_unary":
        resp = unary(EchoRequest(), timeout=30)
        out.update(payload_len=len(resp.payload), received_bytes=resp.received_bytes,
                   serialized_len=len(resp.SerializeToString()))
    elif case == "large_unary":
        size = 1_500_000
        resp = unary(EchoRequest(payload=interop_messages.pattern(size), response_size=size), timeout=30)
        out.update(payload_len=len(resp.payload), received_bytes=resp.received_bytes,
                   payload_ok=resp.payload == interop_messages.pattern(size))
    elif case == "server_streaming":
        sizes, indices = [], []
        for r in stream(EchoRequest(stream_count=5, response_size=3000), timeout=30):
            sizes.append(len(r.payload))
            indices.append(r.index)
            if r.payload != interop_messages.pattern(3000):
                out["payload_ok"] = False
        out.update(sizes=sizes, indices=indices)
    elif case == "metadata":
        md = [("x-text", "hello proxima"), ("x-data-bin", bytes([0, 1, 254, 255, 10]))]
        resp, call = unary.with_call(EchoRequest(echo_metadata=True), metadata=md, timeout=30)

        def enc(pairs):
            return {k: (base64.b64encode(v).decode() if isinstance(v, bytes) else v) for k, v in pairs}
        out.update(headers=enc(call.initial_metadata()), trailers=enc(call.trailing_metadata()))
    elif case == "status":
        try:
            unary(EchoRequest(status_code=9, status_message="bad thing: 100% wrong\nüñï"), timeout=30)
            out["code"] = 0
        except grpc.RpcError as e:
            out.update(code=code_of(e), details=e.details())
    elif case == "deadline":
        try:
            unary(EchoRequest(delay_ms=5000), timeout=0.001, metadata=[("x-tag", args.tag)])
            out["code"] = 0
        except grpc.RpcError as e:
            out.update(code=code_of(e), details=e.details())
    elif case == "cancel":
        it = stream(EchoRequest(stream_count=3, delay_ms=30000, response_size=10), timeout=60,
                    metadata=[("x-tag", args.tag)])
        first = next(it)
        out["first_index"] = first.index
        it.cancel()
        try:
            for _ in it:
                pass
            out["code"] = 0
        except grpc.RpcError as e:
            out.update(code=code_of(e))
    elif case == "unimplemented":
        nope = channel.unary_unary("/" + interop_messages.SERVICE + "/Nope",
                                   request_serializer=EchoRequest.SerializeToString,
                                   response_deserializer=EchoResponse.FromString)
        try:
            nope(EchoRequest(), timeout=30)
            out["code"] = 0
        except grpc.RpcError as e:
            out.update(code=code_of(e), details=e.details())
        nosvc = channel.unary_unary("/proxima.testing.NoSuchService/Unary",
                                    request_serializer=EchoRequest.SerializeToString,
                                    response_deserializer=EchoResponse.FromString)
        try:
            nosvc(EchoRequest(), timeout=30)
            out["service_code"] = 0
        except grpc.RpcError as e:
            out["service_code"] = code_of(e)
    elif case == "oversized":
        # Request over the server's 4 MiB limit, then a response over our 4 MiB receive limit.
        try:
            unary(EchoRequest(payload=interop_messages.pattern(5 * 1024 * 1024)), timeout=30)
            out["send_code"] = 0
        except grpc.RpcError as e:
            out.update(send_code=code_of(e), send_details=e.details())
        try:
            unary(EchoRequest(response_size=5 * 1024 * 1024), timeout=30)
            out["recv_code"] = 0
        except grpc.RpcError as e:
            out.update(recv_code=code_of(e), recv_details=e.details())
        # The connection still works afterwards.
        out["after_code"] = 0 if unary(EchoRequest(), timeout=30) is not None else -1
    elif case == "gzip":
        size = 1_000_000
        resp = unary(EchoRequest(payload=interop_messages.pattern(size), response_size=1000), timeout=30,
                     compression=grpc.Compression.Gzip)
        out.update(received_bytes=resp.received_bytes, payload_len=len(resp.payload))
    else:
        print(f"unknown case {case}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(out), flush=True)
    channel.close()


if __name__ == "__main__":
    main()
