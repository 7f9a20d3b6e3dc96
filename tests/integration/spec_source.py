#!/usr/bin/env python3
"""A source written from Documentation/stream-format.md and
Documentation/sim-device.md alone (no code of ours read): it makes a
simulated device's state and stream from the spec, migrates it into
`vfio-migrate recv` over N channels, and prints the state hash the spec
gives, which recv's restored device must have.

usage: spec_source.py PORT SIZE PATTERN SEED [CHANNELS]
prints "hash HHHHHHHHHHHHHHHH"; exits 0 once the destination said DONE.
"""
import os
import socket
import struct
import sys

M = (1 << 64) - 1
K1, K2, K3 = 0x9e3779b97f4a7c15, 0xd6e8feb86659fd93, 0xff51afd7ed558ccd
WORDS = ("the device state memory of and a queue to in page buffer is for "
         "driver that with on ring by migration as this from data be at "
         "kernel it copy an not stream or host guest are which shader frame "
         "when table vector all has its into while read write command fence "
         "engine texture more than").split()

# ---------------------------------------------------------- sim-device.md


def mix(a, b):
    z = (a + 0x9e3779b97f4a7c15 * (b + 1)) & M
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return z ^ (z >> 31)


def rand(st):
    """(new state, value)"""
    x = st
    x ^= x >> 12
    x ^= (x << 25) & M
    x ^= x >> 27
    return x, (x * 0x2545f4914f6cdd1d) & M


def page_random(s):
    st, out = s | 1, []
    for _ in range(512):
        st, v = rand(st)
        out.append(v)
    return struct.pack("<512Q", *out)


def page_solid(s):
    return struct.pack("<I", (s & 0xFFFFFFFF) | 0xFF000000) * 1024


def page_gradient(s):
    px, step, out = s & 0xFFFFFFFF, (s >> 32) & 0x030303, []
    for i in range(1024):
        if i % 4 == 0:
            px = (px + step) & 0xFFFFFFFF
        out.append(px)
    return struct.pack("<1024I", *out)


def page_text(s):
    st, buf, col = s | 1, bytearray(), 0
    while len(buf) < 4096:
        st, r = rand(st)
        w = WORDS[r % len(WORDS)].encode()
        buf += w[:4096 - len(buf)]
        col += len(w) + 1
        if len(buf) < 4096:
            buf += b"\n" if col > 64 else b"," if (r >> 40) % 13 == 0 else b" "
        if col > 64:
            col = 0
    return bytes(buf)


def page(pattern, seed, p):
    h = mix(seed, p)
    if pattern == "zero":
        return bytes(4096)
    if pattern == "random":
        return page_random(h)
    if pattern == "text":
        return page_text(h)
    k = h % 10  # fb
    if k == 6:
        return page_solid(h >> 8)
    if k == 7:
        return page_gradient(h >> 4)
    if k >= 8:
        return page_random(h)
    return bytes(4096)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def lane(acc, w):
    return (rotl((acc + w * K2) & M, 31) * K1) & M


def hash64(buf, seed):
    a, b, c, d = (seed + K1) & M, seed ^ K2, (seed - K1) & M, ~seed & M
    n = len(buf)
    if n % 32:
        buf = buf + bytes(32 - n % 32)
    for i in range(0, len(buf), 32):
        w0, w1, w2, w3 = struct.unpack_from("<4Q", buf, i)
        a, b, c, d = lane(a, w0), lane(b, w1), lane(c, w2), lane(d, w3)
    h = (rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18)) & M
    h ^= (n * K3) & M
    h ^= h >> 33
    h = (h * K3) & M
    h ^= h >> 29
    h = (h * K2) & M
    return h ^ (h >> 32)


def sim_stream(size, pattern, seed):
    """The save stream of an idle device (header, pages, END) and its
    state hash."""
    npages = size // 4096
    pages = [page(pattern, seed, p) for p in range(npages)]
    state_hash = hash64(b"".join(struct.pack("<Q", hash64(pg, 0))
                                 for pg in pages), size)
    magic = 0x31304D49534D4656  # "VFMSIM01"
    hdr = struct.pack("<QIIQQ24x", magic, 1, 4096, size, npages)
    out = [hdr + struct.pack("<Q", hash64(hdr, magic))]

    def record(typ, count, arg):
        r = struct.pack("<IHHII", 0x43455253, typ, 0, count, 0) + \
            struct.pack("<Q", arg)
        return r + struct.pack("<Q", hash64(r, 0x43455253))
    for first in range(0, npages, 256):
        chunk = pages[first:first + 256]
        out.append(record(1, len(chunk), first))
        out.extend(chunk)
    out.append(record(2, 0, state_hash))
    return b"".join(out), state_hash

# ------------------------------------------------------ stream-format.md


def crc32c(data):
    table = crc32c.table
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


crc32c.table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    crc32c.table.append(c)


def frame(typ, payload=b"", device=0xFFFF, seq=0, raw_len=0, codec=0,
          flags=0, crc=None):
    crc = crc32c(payload) if crc is None else crc
    h = struct.pack("<IBBHQIIB3xI4x", 0x474D4656, typ, flags, device, seq,
                    raw_len, len(payload), codec, crc)
    return h + struct.pack("<I", crc32c(h)) + payload


def read_frame(s):
    def exactly(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                sys.exit("the destination closed the connection")
            b += c
        return b
    h = exactly(40)
    typ, enc_len = h[4], struct.unpack_from("<I", h, 20)[0]
    return typ, struct.unpack_from("<H", h, 6)[0], exactly(enc_len)


def main():
    port, size = int(sys.argv[1]), int(sys.argv[2])
    pattern, seed = sys.argv[3], int(sys.argv[4])
    nch = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    stream, state_hash = sim_stream(size, pattern, seed)
    print("hash %016x" % state_hash, flush=True)

    session = os.urandom(16)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30)
             for _ in range(nch)]
    caps = 0x02  # zero chunks; raw needs none; no pre-copy
    for i, s in enumerate(socks):
        s.sendall(frame(1, struct.pack("<HHI16sHHI32x", 1, 0, caps, session,
                                       i, nch, 1 << 20)))
    max_chunk = 0
    for s in socks:
        typ, _, p = read_frame(s)
        if typ != 2:
            sys.exit("refused: %r" % p[4:])
        max_chunk = struct.unpack_from("<I", p, 8)[0]

    def s_(x):
        return struct.pack("<H", len(x)) + x
    ident = b"sim size=%d" % size
    dev = s_(b"dev0") + s_(b"sim") + s_(ident) + struct.pack("<IIQ", 7, 0, 0)
    socks[0].sendall(frame(4, struct.pack("<HH", 1, 0) + dev))
    typ, _, p = read_frame(socks[0])
    if typ != 5:
        sys.exit("manifest refused: %r" % p[4:])

    seq = 0
    for off in range(0, len(stream), max_chunk):
        raw = stream[off:off + max_chunk]
        if raw.count(0) == len(raw):  # a zero chunk: no payload
            data = frame(6, b"", device=0, seq=seq, raw_len=len(raw),
                         codec=2, flags=1, crc=crc32c(raw))
        else:
            data = frame(6, raw, device=0, seq=seq, raw_len=len(raw),
                         flags=1)
        socks[seq % nch].sendall(data)  # stop-copy frames, spread
        seq += 1
    end = struct.pack("<QQII", len(stream), seq, crc32c(stream), 0)
    socks[0].sendall(frame(9, end, device=0))
    socks[0].sendall(frame(11))
    loaded = done = False
    while not done:
        typ, _, p = read_frame(socks[0])
        if typ == 10:
            code = struct.unpack_from("<I", p)[0]
            if code:
                sys.exit("not loaded: %r" % p[4:])
            loaded = True
        elif typ == 11:
            done = True
        elif typ == 12:
            sys.exit("ERROR: %r" % p[4:])
    for s in socks:
        s.close()
    sys.exit(0 if loaded else "DONE before DEVICE_LOADED")


if __name__ == "__main__":
    main()
