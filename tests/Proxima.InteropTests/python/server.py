"""grpcio server for interop tests. Binds 127.0.0.1:0, prints 'PORT <n>' when serving, then one
'EVENT <x-tag> <method> <CANCELLED|DEADLINE>' line whenever a call ends early. Exits when stdin closes."""
import argparse
import sys
import threading
import time
from concurrent import futures

import grpc

import interop_messages

CODES = {c.value[0]: c for c in grpc.StatusCode}
_print_lock = threading.Lock()


def emit(line):
    with _print_lock:
        print(line, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--descriptor", required=True)
    ap.add_argument("--max-receive", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    EchoRequest, EchoResponse = interop_messages.load(args.descriptor)

    def echo_metadata(request, context):
        if not request.echo_metadata:
            return
        md = [(k, v) for k, v in context.invocation_metadata() if k.startswith("x-")]
        context.send_initial_metadata(md)
        context.set_trailing_metadata([("t-" + k, v) for k, v in md])

    def wait_or_end(method, request, context):
        """Waits delay_ms; True if the call ended first (client cancel or deadline)."""
        if request.delay_ms <= 0:
            return False
        ended = threading.Event()
        context.add_callback(ended.set)
        if ended.wait(request.delay_ms / 1000.0) or not context.is_active():
            remaining = context.time_remaining()
            kind = "DEADLINE" if remaining is not None and remaining <= 0 else "CANCELLED"
            tag = dict(context.invocation_metadata()).get("x-tag", "-")
            emit(f"EVENT {tag} {method} {kind}")
            return True
        return False

    def fail_if_asked(request, context):
        if request.status_code:
            context.abort(CODES[request.status_code], request.status_message)

    def unary(request, context):
        if dict(context.invocation_metadata()).get("x-compress") == "gzip":
            context.set_compression(grpc.Compression.Gzip)
        echo_metadata(request, context)
        if wait_or_end("Unary", request, context):
            return EchoResponse()
        fail_if_asked(request, context)
        return EchoResponse(payload=interop_messages.pattern(request.response_size),
                            received_bytes=len(request.payload))

    def stream(request, context):
        echo_metadata(request, context)
        count = max(request.stream_count, 1)
        for i in range(count):
            yield EchoResponse(payload=interop_messages.pattern(request.response_size), index=i,
                               received_bytes=len(request.payload))
            if i == 0 and wait_or_end("Stream", request, context):
                return
        fail_if_asked(request, context)

    handler = grpc.method_handlers_generic_handler(interop_messages.SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=EchoRequest.FromString,
            response_serializer=EchoResponse.SerializeToString),
        "Stream": grpc.unary_stream_rpc_method_handler(
            stream, request_deserializer=EchoRequest.FromString,
            response_serializer=EchoResponse.SerializeToString),
    })
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        handlers=[handler],
        options=[("grpc.max_receive_message_length", args.max_receive),
                 ("grpc.max_send_message_length", -1),
                 ("grpc.so_reuseport", 0)])
    if args.tls_cert:
        with open(args.tls_cert, "rb") as f:
            cert = f.read()
        with open(args.tls_key, "rb") as f:
            key = f.read()
        port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        print("ERROR could not bind 127.0.0.1:0", file=sys.stderr, flush=True)
        sys.exit(2)
    server.start()
    emit(f"PORT {port}")
    # Run until the test closes our stdin (or kills us).
    sys.stdin.read()
    server.stop(0).wait(5)


if __name__ == "__main__":
    main()
