#!/usr/bin/env python3
"""A TCP relay between vfio-migrate send and recv that breaks one channel.

usage: relay.py LISTEN_PORT TARGET_PORT ACTION CONN BYTES|tSECONDS

LISTEN_PORT 0 takes a free port.  "listening PORT" is printed once the
relay accepts connections: wait for it.

Connections are numbered in the order they are accepted.  Once connection
CONN has carried BYTES bytes from the source (exactly that many reach the
destination), or SECONDS after it was accepted, ACTION happens to it:
  cut-src  the source's side is reset (RST); the destination's stays open
  cut-dst  the destination's side is reset; the source's stays open
  stall    nothing moves either way any more, both stay open
  late     what the destination sends on it reaches the source 0.3 s
           late from then on, and its end or reset after that; the
           source's side is not reset when the destination's is.  The
           destination's end of any other connection reaches the source
           as a reset (as when it closes with bytes unread): a reset
           before a reason
  lag      what the source sends on it, and its end, reach the
           destination 0.3 s after they left (a latency: the bytes keep
           their pace): the source's last words on channel 0 come after
           its other channels' ends
  none     nothing (a plain relay)
"triggered" is printed when it happens.  Other connections are relayed
as they are; an end or a reset on one side is passed on to the other.
"""
import queue
import socket
import struct
import sys
import threading
import time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
action, conn_no = sys.argv[3], int(sys.argv[4])
after = float(sys.argv[5][1:]) if sys.argv[5][0] == "t" else None
limit = None if after is not None else int(sys.argv[5])
frozen = threading.Event()  # the broken connection: its pumps stop
delayed = threading.Event()  # action late, triggered
LATE = 0.3
kept = []  # every socket, so that none closes by being forgotten


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # a thread blocked in recv() on it holds the socket: wake it first,
    # or close() sends nothing until that recv() returns
    try:
        s.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    s.close()


def trigger(src, dst):
    (delayed if action == "late" else frozen).set()
    if action == "cut-src":
        reset(src)
    elif action == "cut-dst":
        reset(dst)
    print("triggered", flush=True)


class Later:
    """Each piece handed to b LATE after it came (a latency, as lag
    does): pieces queued behind each other do not add their delays up."""

    def __init__(self, b):
        self.b, self.q = b, queue.Queue()
        threading.Thread(target=self.deliver, daemon=True).start()

    def put(self, what):  # bytes, b"" (an end) or None (a reset)
        self.q.put((time.monotonic() + LATE, what))

    def deliver(self):
        while True:
            due, what = self.q.get()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                if what is None:
                    reset(self.b)
                    return
                if not what:
                    self.b.shutdown(socket.SHUT_WR)
                    return
                self.b.sendall(what)
            except OSError:
                return


def pump(a, b, count, broken):
    left = limit if count and limit is not None else None
    late = broken and not count and action == "late"
    # action late: another connection the destination ends
    early = not broken and not count and action == "late"
    later = None
    try:
        while True:
            if broken and left == 0:
                trigger(a, b)
                if action != "late":
                    return
                left = None
            data = a.recv(65536 if left is None else min(65536, left))
            if broken and frozen.is_set():
                return
            if late and delayed.is_set():
                later = later or Later(b)
                later.put(data)
                if not data:
                    return
                continue
            if not data and early:
                raise ConnectionResetError
            if not data:
                b.shutdown(socket.SHUT_WR)
                return
            b.sendall(data)
            if left is not None:
                left -= len(data)
    except OSError:
        # pass an error on as a reset, unless this is the broken one, or
        # the late one's error toward the destination (it comes late,
        # from the other pump)
        if late and delayed.is_set():
            (later or Later(b)).put(None)
            return
        if broken and (frozen.is_set() or delayed.is_set()):
            return
        if not (broken and frozen.is_set()):
            try:
                reset(b)
            except OSError:
                pass


def lagged(a, b):
    """Action lag: a to b, each piece LATE after it came."""
    q = queue.Queue()

    def deliver():
        while True:
            due, data = q.get()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                if not data:
                    b.shutdown(socket.SHUT_WR)
                    return
                b.sendall(data)
            except OSError:
                return

    threading.Thread(target=deliver, daemon=True).start()
    print("triggered", flush=True)
    while True:
        try:
            data = a.recv(65536)
        except OSError:
            data = b""
        q.put((time.monotonic() + LATE, data))
        if not data:
            return


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(64)
    print("listening", ls.getsockname()[1], flush=True)
    n = 0
    while True:
        src, _ = ls.accept()
        dst = socket.create_connection(("127.0.0.1", target_port))
        # as both ends' own sockets (lib/channel.c): a small frame does not
        # wait behind Nagle for the ACK of the one before, and a reset
        # right behind it cannot discard it unsent
        for so in (src, dst):
            so.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        kept.extend((src, dst))
        broken = n == conn_no and action != "none"
        if broken and action == "lag":
            threading.Thread(target=lagged, args=(src, dst),
                             daemon=True).start()
            threading.Thread(target=pump, args=(dst, src, False, False),
                             daemon=True).start()
            n += 1
            continue
        threading.Thread(target=pump, args=(src, dst, broken, broken),
                         daemon=True).start()
        if broken and after is not None:
            threading.Timer(after, trigger, args=(src, dst)).start()
        threading.Thread(target=pump, args=(dst, src, False, broken),
                         daemon=True).start()
        n += 1


main()
