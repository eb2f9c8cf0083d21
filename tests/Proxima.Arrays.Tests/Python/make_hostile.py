"""Hostile Zarr v2 stores: decompression bombs, truncated chunks, absurd metadata."""
import json
import os
import sys

import numcodecs
import numpy as np
import zarr

out = sys.argv[1]
big = np.zeros(64 * 1024 * 1024 // 4, dtype="f4")  # 64 MiB of zeros compresses to almost nothing
small = np.arange(65536, dtype="f4")

compressors = {
    "blosc": numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE),
    "zlib": numcodecs.Zlib(1),
    "gzip": numcodecs.GZip(1),
    "zstd": numcodecs.Zstd(1),
    "lz4": numcodecs.LZ4(1),
}
for name, comp in compressors.items():
    # A 256 KiB chunk whose stored bytes (< 2x that) expand to 64 MiB.
    p = os.path.join(out, f"bomb_{name}.zarr")
    z = zarr.open_array(p, mode="w", shape=(65536,), chunks=(65536,), dtype="f4", compressor=comp)
    z[...] = small
    with open(os.path.join(p, "0"), "wb") as f:
        f.write(comp.encode(big))

    # A valid chunk cut in half.
    p = os.path.join(out, f"truncated_{name}.zarr")
    z = zarr.open_array(p, mode="w", shape=(4096,), chunks=(4096,), dtype="f4", compressor=comp)
    z[...] = np.random.default_rng(1).random(4096).astype("f4")
    with open(os.path.join(p, "0"), "rb") as f:
        data = f.read()
    with open(os.path.join(p, "0"), "wb") as f:
        f.write(data[: len(data) // 2])


# Blosc-lz4 chunks (4096 float32, one block split in 4 streams of 4096 bytes) whose block data lies: a stream that
# would decode past its 4096 bytes, a block start outside the buffer, a stream size running past the end.
def lz4_block(raw):
    return numcodecs.LZ4(1).encode(raw)[4:]  # numcodecs frames a raw LZ4 block behind a 4-byte length


def blosc_frame(streams, start=20, tail=b""):
    body = b"".join(len(s).to_bytes(4, "little", signed=True) + s for s in streams) + tail
    cbytes = 20 + len(body)
    header = bytes([2, 1, 0x21, 4]) + (16384).to_bytes(4, "little") + (16384).to_bytes(4, "little") + cbytes.to_bytes(4, "little")
    return header + start.to_bytes(4, "little") + body


ok = lz4_block(bytes(4096))
lying = {
    "blosc_overlong_stream": blosc_frame([lz4_block(bytes(8192)), ok, ok, ok]),
    "blosc_bad_block_start": blosc_frame([ok, ok, ok, ok], start=1 << 20),
    "blosc_stream_past_end": blosc_frame([ok, ok, ok], tail=(1 << 20).to_bytes(4, "little") + ok),
}
for name, frame in lying.items():
    p = os.path.join(out, name + ".zarr")
    z = zarr.open_array(p, mode="w", shape=(4096,), chunks=(4096,), dtype="f4", compressor=compressors["blosc"])
    z[...] = small[:4096]
    with open(os.path.join(p, "0"), "wb") as f:
        f.write(frame)


def write_array(name, meta):
    p = os.path.join(out, name)
    os.makedirs(p, exist_ok=True)
    with open(os.path.join(p, ".zarray"), "w") as f:
        f.write(meta if isinstance(meta, str) else json.dumps(meta))


base = {"zarr_format": 2, "shape": [10], "chunks": [10], "dtype": "<f4", "compressor": None, "fill_value": 0, "filters": None, "order": "C"}
write_array("absurd_shape.zarr", dict(base, shape=[2**41, 2**41], chunks=[1, 1]))
write_array("absurd_chunk.zarr", dict(base, shape=[10], chunks=[2**40]))
write_array("negative_shape.zarr", dict(base, shape=[-1]))
write_array("bad_json.zarr", '{"zarr_format": 2, "shape": [10,')
write_array("unknown_codec.zarr", dict(base, compressor={"id": "no-such-codec"}))
write_array("rank_mismatch.zarr", dict(base, shape=[10, 10], chunks=[10]))
write_array("oversized_chunk_file.zarr", base)
with open(os.path.join(out, "oversized_chunk_file.zarr", "0"), "wb") as f:
    f.write(b"\0" * (1024 * 1024))
print("ok")
