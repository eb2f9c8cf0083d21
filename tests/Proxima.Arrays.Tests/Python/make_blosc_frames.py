"""Blosc buffers made by numcodecs (the libblosc1 zarr-python uses) over every block shape our own decoder meets:
typesize 1/2/3/4/8/16/20, shuffle off and on, split and not split (typesize > 16, blocks under 128 items), leftover
last blocks, incompressible (stored) streams; and buffers it must hand to libblosc (bitshuffle, memcpyed, blosclz,
zstd, zlib). Writes NAME.blosc (the buffer), NAME.raw (the bytes compressed) and manifest.json."""
import json
import os
import sys

import numcodecs.blosc as blosc
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
cases = []


def data(kind, itemsize, n):
    nbytes = itemsize * n
    if kind == "smooth":
        # Slowly varying float32 in steps of 1/4 (runs of equal values): compresses shuffled or not.
        v = (250 + np.round(80 * np.sin(np.arange(nbytes // 4 + 1) / 300.0)) / 4).astype("<f4").tobytes()
        return v[:nbytes]
    if kind == "noise":
        # Random bytes: LZ4 cannot compress a stream, so streams are stored raw (or the whole buffer memcpyed).
        return rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    # Normal float32 noise: exponent planes compress, low mantissa planes are stored raw.
    v = rng.normal(280, 5, nbytes // 4 + 1).astype("<f4").tobytes()
    return v[:nbytes]


def add(name, raw, itemsize, cname, clevel, shuffle, blocksize):
    arr = np.frombuffer(raw, dtype="V%d" % itemsize) if itemsize not in (1, 2, 4, 8) else np.frombuffer(raw, dtype="u%d" % itemsize)
    enc = blosc.compress(arr, cname.encode(), clevel, shuffle, blocksize)
    assert bytes(blosc.decompress(enc)) == raw
    with open(os.path.join(out, name + ".blosc"), "wb") as f:
        f.write(enc)
    with open(os.path.join(out, name + ".raw"), "wb") as f:
        f.write(raw)
    cases.append({"name": name, "typesize": itemsize, "flags": enc[2], "blocksize": int.from_bytes(enc[8:12], "little"),
                  "nbytes": len(raw), "cname": cname, "clevel": clevel, "shuffle": shuffle})


for itemsize in (1, 2, 3, 4, 8, 16, 20):
    n = 30_011 if itemsize <= 8 else 6_007
    for kind in ("smooth", "noise", "mixed"):
        raw = data(kind, itemsize, n)
        for shuffle in (blosc.NOSHUFFLE, blosc.SHUFFLE):
            # 0: blosc's own choice; 256 bytes: blocks under 128 items (not split) for typesize >= 3;
            # 40000: several blocks and a leftover (40000 is a multiple of 1, 2, 4, 8, 16, 20 but not of 3 -> 39999).
            for bs in (0, 256, 40_000):
                bs_eff = bs if bs == 0 or bs % itemsize == 0 else bs - bs % itemsize
                for cname in (("lz4", "lz4hc") if kind == "mixed" and bs == 0 else ("lz4",)):
                    add(f"{cname}_t{itemsize}_{kind}_s{shuffle}_b{bs_eff}", raw, itemsize, cname, 5, shuffle, bs_eff)

raw = data("mixed", 4, 300_007)
add("lz4_t4_big_s1_b0", raw, 4, "lz4", 5, blosc.SHUFFLE, 0)
add("lz4_t4_big_s1_b0_c9", raw, 4, "lz4", 9, blosc.SHUFFLE, 0)
# Handed to libblosc: bit shuffle, memcpyed (clevel 0), other compressors.
add("fallback_bitshuffle", raw, 4, "lz4", 5, blosc.BITSHUFFLE, 0)
add("fallback_memcpyed", raw, 4, "lz4", 0, blosc.SHUFFLE, 0)
for cname in ("blosclz", "zstd", "zlib"):
    add(f"fallback_{cname}", raw, 4, cname, 5, blosc.SHUFFLE, 0)
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(cases, f)
print(len(cases))
