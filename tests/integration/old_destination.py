"""A stream format 1.0 destination, for send --dry-run: it grants only the
capabilities 1.0 knows (bits 0..4), then prints the type and text of the
next frame the source sends on that channel.  usage: old_destination.py
PORTFILE (the port it listens on is written there)."""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from peer import control, read_frame  # noqa: E402

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.settimeout(20)
typ, p = read_frame(c)
assert typ == 1, typ  # HELLO
major, minor, caps = struct.unpack_from("<HHI", p)
print("hello %d.%d caps 0x%x" % (major, minor, caps), flush=True)
c.sendall(control(2, struct.pack("<HHII4x", 1, 0, caps & 0x1F, 1 << 20)))
typ, p = read_frame(c)
print("then %s %s" % (typ, p[4:].decode(errors="replace") if p else ""), flush=True)
