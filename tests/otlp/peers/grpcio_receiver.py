"""A second, independent OTLP/gRPC receiver: Python's grpcio (gRPC's C core) serving
TraceService/Export on 127.0.0.1 with raw bytes, for tests/otlp/grpc_python_test.ts.

It prints "PORT <n>", answers each call as its mode says, and when its standard input ends
prints one JSON line per call (the request bytes in hex, the metadata, the time the call had
left) and exits. Modes: "ok"; "unavailable-once" (UNAVAILABLE, then OK); "exhausted-retry-info"
(RESOURCE_EXHAUSTED with a RetryInfo of 0.2 s, then OK); "invalid" (INVALID_ARGUMENT).
"""

import json
import sys
from concurrent import futures

import grpc

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


def retry_info_status(code, message, seconds, nanos):
    """A google.rpc.Status whose one detail is a RetryInfo, encoded by hand."""

    def varint(n):
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)

    def field(number, payload):
        return varint(number * 8 + 2) + varint(len(payload)) + payload

    duration = varint(1 * 8) + varint(seconds) + varint(2 * 8) + varint(nanos)
    retry_info = field(1, duration)
    detail = field(1, b"type.googleapis.com/google.rpc.RetryInfo") + field(2, retry_info)
    return varint(1 * 8) + varint(code) + field(2, message.encode()) + field(3, detail)


def main():
    mode = sys.argv[1]
    calls = []

    def export(request, context):
        calls.append(
            {
                "body": request.hex(),
                "metadata": {k: v for k, v in context.invocation_metadata() if not k.endswith("-bin")},
                "remaining": context.time_remaining(),
            }
        )
        first = len(calls) == 1
        if mode == "unavailable-once" and first:
            context.abort(grpc.StatusCode.UNAVAILABLE, "collector busy")
        if mode == "exhausted-retry-info" and first:
            status = retry_info_status(8, "slow down", 0, 200_000_000)
            context.set_trailing_metadata((("grpc-status-details-bin", status),))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")
        if mode == "invalid":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad span")
        return b""

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {"Export": grpc.unary_unary_rpc_method_handler(export)},
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    server.stop(0)
    for call in calls:
        print(json.dumps(call), flush=True)


if __name__ == "__main__":
    main()
