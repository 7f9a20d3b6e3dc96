#!/usr/bin/env python3
"""A hostile source for vfio-migrate recv: speaks the stream format
(Documentation/stream-format.md) well enough to get past the checks it
wants to get past, then does one thing wrong.

usage: peer.py PORT MODE SIZE   (SIZE: the destination sim device's bytes)
"""
import os
import socket
import struct
import subprocess
import sys

MAGIC = 0x474D4656
POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def header(typ, payload_len, device=0xFFFF, seq=0, raw_len=0, codec=0,
           flags=0, crc=0, magic=MAGIC):
    h = struct.pack("<IBBHQIIB3sI4s", magic, typ, flags, device, seq, raw_len,
                    payload_len, codec, b"\0\0\0", crc, b"\0\0\0\0")
    return h + struct.pack("<I", crc32c(h))


def control(typ, payload=b"", device=0xFFFF):
    return header(typ, len(payload), device=device, crc=crc32c(payload)) + payload


SESSION = os.urandom(16)


def hello(major=1, caps=0x0F, channel=0, nchannels=1, max_chunk=1 << 20,
          session=None):
    p = struct.pack("<HHI16sHHI", major, 0, caps,
                    os.urandom(16) if session is None else session, channel,
                    nchannels, max_chunk) + b"\0" * 32
    return control(1, p)


def manifest(size):
    def s(x):
        return struct.pack("<H", len(x)) + x
    ident = b"sim size=%d" % size
    # the id: an unnamed device's is its position's
    dev = s(b"dev0") + s(b"sim") + s(ident) + struct.pack("<IIQ", 7, 0, 0)
    return control(4, struct.pack("<HH", 1, 0) + dev)


def data(raw, seq=0, device=0, codec=0, raw_len=None, payload=None, crc=None,
         flags=0):
    payload = raw if payload is None else payload
    raw_len = len(raw) if raw_len is None else raw_len
    crc = crc32c(raw) if crc is None else crc
    return header(6, len(payload), device=device, seq=seq, raw_len=raw_len,
                  codec=codec, crc=crc, flags=flags) + payload


def read_frame(s):
    h = b""
    while len(h) < 40:
        c = s.recv(40 - len(h))
        if not c:
            return None, None
        h += c
    n = struct.unpack_from("<I", h, 20)[0]
    p = b""
    while len(p) < n:
        c = s.recv(n - len(p))
        if not c:
            break
        p += c
    return h[4], p


def join(port, nchannels, max_chunk, caps=0x0F):
    """A session of @nchannels channels: the sockets and the chunk limit
    the destination accepted."""
    socks = []
    for i in range(nchannels):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(hello(channel=i, nchannels=nchannels, max_chunk=max_chunk,
                        caps=caps, session=SESSION))
        typ, p = read_frame(c)
        if typ != 2:
            print("refused:", p[4:].decode(errors="replace"), flush=True)
            sys.exit(0)
        socks.append(c)
    return socks, struct.unpack_from("<I", p, 8)[0]


NAMES = {1: "HELLO", 2: "ACCEPT", 3: "REJECT", 4: "MANIFEST",
         5: "MANIFEST_ACK", 6: "DATA", 7: "INIT_DONE", 8: "SWITCHOVER_ACK",
         9: "DEVICE_END", 10: "DEVICE_LOADED", 11: "DONE", 12: "ERROR",
         13: "PROGRESS", 14: "NOP"}
STOPCOPY = 1


def say(typ, p):
    """One line per frame the destination sent: what test_recv_spec.sh
    counts (one ERROR a failure, with the code the spec names)."""
    line = "got %s" % NAMES.get(typ, typ)
    if typ in (3, 10, 12) and len(p) >= 4:
        line += " %d %s" % (struct.unpack_from("<I", p)[0],
                            p[4:].decode(errors="replace"))
    print(line, flush=True)


def device_end(raw_bytes, frames, crc=0, device=0):
    return control(9, struct.pack("<QQII", raw_bytes, frames, crc, 0),
                   device=device)


class Session:
    """A source of @nch channels, HELLO answered on each, the manifest
    acknowledged (unless manifest=False)."""

    def __init__(self, port, size, nch=1, caps=0x1F, manifest_ok=True,
                 hellos=None):
        self.socks = []
        for i in range(nch):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(hellos[i] if hellos else
                      hello(channel=i, nchannels=nch, caps=caps,
                            session=SESSION))
            self.socks.append(c)
        for c in self.socks:
            typ, p = read_frame(c)
            if typ != 2:
                say(typ, p)
                self.finish()
                sys.exit(0)
        if manifest_ok:
            self.send(manifest(size))
            typ, p = read_frame(self.socks[0])
            if typ != 5:
                say(typ, p)
                self.finish()
                sys.exit(0)

    def send(self, frame, ch=0):
        self.socks[ch].sendall(frame)

    def finish(self):
        """Everything the destination says, on every channel, to its end."""
        for c in self.socks:
            try:
                while True:
                    typ, p = read_frame(c)
                    if typ is None:
                        break
                    say(typ, p)
            except OSError:
                pass
            c.close()


def spec(port, mode, size):
    """A session that breaks one rule of stream-format.md: see
    test_recv_spec.sh."""
    raw = os.urandom(4096)
    if mode == "manifest-ch1":
        s = Session(port, size, nch=2, manifest_ok=False)
        s.send(manifest(size), ch=1)
    elif mode == "hello-count":
        s = Session(port, size, nch=2, manifest_ok=False, hellos=[
            hello(channel=0, nchannels=2, session=SESSION),
            hello(channel=1, nchannels=3, session=SESSION)])
    elif mode == "hello-twice":
        s = Session(port, size, nch=2, manifest_ok=False, hellos=[
            hello(channel=0, nchannels=2, session=SESSION),
            hello(channel=0, nchannels=2, session=SESSION)])
    elif mode == "stray-session":
        # channel 0 of a session of 2, then a connection of another
        # session; channel 1 never comes
        other = bytes(reversed(SESSION))
        print("session", SESSION.hex(), "other", other.hex(), flush=True)
        a = socket.create_connection(("127.0.0.1", port), timeout=10)
        a.sendall(hello(channel=0, nchannels=2, session=SESSION))
        say(*read_frame(a))
        b = socket.create_connection(("127.0.0.1", port), timeout=10)
        b.sendall(hello(channel=1, nchannels=2, session=other))
        say(*read_frame(b))
        s = Session.__new__(Session)
        s.socks = [a, b]
    else:
        caps = {"pre-not-negotiated": 0x1B,
                "init-not-negotiated": 0x17}.get(mode, 0x1F)
        s = Session(port, size, nch=2 if mode == "ctl-ch1" else 1,
                    caps=caps)
        frames = {
            "dup-written": [data(raw), data(raw)],
            "dup-waiting": [data(raw, seq=1), data(raw[::-1], seq=1)],
            "done-early": [control(11)],
            "after-done": [data(raw, flags=STOPCOPY),
                           device_end(8192, 2), control(11), control(14)],
            "end-frames": [data(raw, seq=3), device_end(8192, 2)],
            "end-bytes": [data(raw), device_end(100, 2)],
            "end-impossible": [device_end(3 << 20, 1)],
            "pre-after-stop": [data(raw, flags=STOPCOPY),
                               data(raw, seq=1)],
            "stop-before-pre": [data(raw, seq=1),
                                data(raw, flags=STOPCOPY)],
            "pre-not-negotiated": [data(raw)],
            "init-not-negotiated": [control(7, struct.pack("<Q", 0),
                                            device=0)],
            "flags": [data(raw, flags=0x80)],
        }.get(mode)
        if mode == "ctl-ch1":
            s.send(data(raw, flags=STOPCOPY), ch=1)
            s.send(device_end(4096, 1), ch=1)
        elif frames is None:
            sys.exit("unknown mode " + mode)
        for fr in frames or []:
            s.send(fr)
    s.finish()


def hostile(port, mode, size):
    """The modes that exhaust rather than break: see test_recv_limits.sh."""
    import fcntl
    import termios
    import time
    if mode == "channels":
        join(port, 1000, 1 << 20)
        return
    nch = {"fill": 8, "overbook": 64}.get(mode, 1)
    # reason-behind: with PROGRESS (bit 4), which the destination sends
    # as its device loads
    socks, chunk = join(port, nch, 16 << 20,
                        0x1F if mode == "reason-behind" else 0x0F)
    print("chunk", chunk, flush=True)
    s = socks[0]
    s.sendall(manifest(size))
    typ, _ = read_frame(s)
    assert typ == 5, "no MANIFEST_ACK"
    if mode == "fill":
        # frames 1.. on every channel, never frame 0: all wait for it
        raw = os.urandom(chunk)
        seq = 1
        try:
            while True:
                for c in socks:
                    c.sendall(data(raw, seq=seq))
                    seq += 1
        except OSError:
            pass
    elif mode == "loris":
        # one frame, a byte at a time, each well within --timeout
        frame = data(os.urandom(4096))
        try:
            for b in frame:
                s.sendall(bytes([b]))
                time.sleep(0.5)
        except OSError:
            pass
    elif mode == "endless":
        # valid pre-copy frames, for ever
        raw = os.urandom(4096)
        seq = 0
        try:
            while True:
                s.sendall(data(raw, seq=seq))
                seq += 1
                time.sleep(0.01)
        except OSError:
            pass
    elif mode == "reason-behind":
        # frames in order to a device that loads slowly, more than the
        # destination's buffers hold, then this source's ERROR behind
        # them, and a reset: the destination stops reading while its
        # buffers are full, and its next PROGRESS meets the reset
        raw = os.urandom(chunk)
        for seq in range(8):
            s.sendall(data(raw, seq=seq))
        s.sendall(control(12, struct.pack("<I", 6) +
                          b"the source gave up behind its frames"))
        # the reset must not discard what was sent: wait (bounded) until
        # the destination's kernel acknowledged every byte
        for _ in range(1000):
            outq = struct.unpack("<i", fcntl.ioctl(
                s, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if not outq:
                break
            time.sleep(0.01)
        print("unacknowledged", outq, flush=True)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        return
    elif mode == "flood":
        # the session runs; every other connection is refused
        refused = 0
        for _ in range(1000):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(hello())
            typ, p = read_frame(c)
            refused += typ == 3 and b"another session" in p
            c.close()
        print("refused", refused, flush=True)
        s.close()
        return
    try:
        while read_frame(s)[0] is not None:
            pass
    except OSError:
        pass


def main():
    port, mode, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if mode in ("channels", "fill", "overbook", "loris", "endless", "flood",
                "reason-behind"):
        hostile(port, mode, size)
        return
    if mode not in ("empty", "random", "http", "magic", "version", "stray",
                    "nocap", "manifest", "codec", "crc", "length", "window",
                    "device", "zstdlen", "truncate", "stall", "close"):
        spec(port, mode, size)
        return
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw = os.urandom(4096)
    if mode == "empty":
        s.close()
        return
    if mode == "random":
        s.sendall(os.urandom(4096))
    elif mode == "http":
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    elif mode == "magic":
        s.sendall(header(1, 64, magic=0x12345678) + b"\0" * 64)
    elif mode == "version":
        s.sendall(hello(major=2))
    elif mode == "stray":
        # a session is in progress: a HELLO of another one is refused
        s.sendall(hello())
        typ, p = read_frame(s)
        print("REJECT" if typ == 3 else "type %s" % typ, p[4:].decode())
        s.close()
        return
    else:
        caps = 0x0D if mode == "nocap" else 0x0F  # nocap: no zero chunks
        s.sendall(hello(caps=caps))
        typ, _ = read_frame(s)
        assert typ == 2, "no ACCEPT"
        if mode == "manifest":
            s.sendall(manifest(size + 4096))
        else:
            s.sendall(manifest(size))
            typ, _ = read_frame(s)
            assert typ == 5, "no MANIFEST_ACK"
            if mode == "codec":
                s.sendall(data(raw, codec=7))
            elif mode == "nocap":
                s.sendall(data(b"\0" * 4096, codec=2, payload=b""))
            elif mode == "crc":
                s.sendall(data(raw, crc=crc32c(raw) ^ 1))
            elif mode == "length":
                s.sendall(header(6, 0, device=0, raw_len=32 << 20, codec=2))
            elif mode == "window":
                s.sendall(data(raw, seq=100000))
            elif mode == "device":
                s.sendall(data(raw, device=9))
            elif mode == "zstdlen":
                z = subprocess.run(["zstd", "-q", "-c", "--no-check"],
                                   input=b"a" * 4096, capture_output=True,
                                   check=True).stdout
                s.sendall(data(b"a" * 8192, codec=1, payload=z))
            elif mode in ("truncate", "stall"):
                s.sendall(data(raw)[:2000])
                if mode == "truncate":
                    s.close()
                    return
            elif mode == "close":
                s.sendall(data(raw))
                s.close()
                return
            else:
                sys.exit("unknown mode " + mode)
    # Wait for the destination to say what it thinks, then go.
    try:
        while read_frame(s)[0] is not None:
            pass
    except OSError:
        pass
    s.close()


if __name__ == "__main__":
    main()
