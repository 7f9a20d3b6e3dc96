#!/usr/bin/env python3
"""make bench: vfio-migrate against the baselines, measured in the same run.

Every figure is the median of --runs runs (the machine is noisy).  Throughput
is raw device bytes per second, end to end: from the sender's start until the
receiver has written the last byte (ours: the sender's total-time, which ends
when the destination confirmed every device loaded).
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOOL = os.path.join(os.path.dirname(__file__), "..", "tools", "vfio-migrate",
                    "vfio-migrate")
SHM = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listen(port):
    # the destination fills its devices' memory first: seconds for GiBs
    for _ in range(6000):
        if "LISTEN" in subprocess.run(["ss", "-Hltn", f"sport = :{port}"],
                                      capture_output=True, text=True).stdout:
            return
        time.sleep(0.02)
    sys.exit(f"bench: nothing listens on port {port}")


# The simulated devices skip their own page hashing (check=off): that is
# the test oracle's cost, not the pipeline's.  Every run still compares the
# full state hashes of both ends, computed after the clock stopped.
def devs(n, size, pattern, extra=""):
    out = []
    for i in range(n):
        out += ["-d", f"sim:size={size},pattern={pattern},seed={i + 1},check=off{extra}"]
    return out


def dst_devs(n, size):
    out = []
    for _ in range(n):
        out += ["-d", f"sim:size={size},pattern=zero,check=off"]
    return out


class RssWatch(threading.Thread):
    """Peak RSS of a process, leaving out the simulated devices' state
    (mappings of /memfd:vfmig-sim: device memory on real hardware)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def sample(self):
        total = 0
        skip = False
        try:
            with open(f"/proc/{self.pid}/smaps") as f:
                for line in f:
                    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                        skip = "/memfd:vfmig-sim" in line
                    elif line.startswith("Rss:") and not skip:
                        total += int(line.split()[1]) * 1024
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return
        self.peak = max(self.peak, total)

    def run(self):
        while not self.stop:
            self.sample()
            time.sleep(0.05)


def ours(n, size, pattern, channels, codec, extra_send=(), rss=None):
    port = free_port()
    recv = subprocess.Popen([TOOL, "recv", "-l", f"tcp:127.0.0.1:{port}",
                             "-j"] + dst_devs(n, size),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_listen(port)
    send = subprocess.Popen([TOOL, "send", "-t", f"tcp:127.0.0.1:{port}",
                             "-c", str(channels), "-z", codec, "-j",
                             "--no-precopy"] + list(extra_send)
                            + devs(n, size, pattern),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watches = []
    if rss is not None:
        watches = [RssWatch(send.pid), RssWatch(recv.pid)]
        for w in watches:
            w.start()
    sout, serr = send.communicate()
    rout, rerr = recv.communicate()
    for w in watches:
        w.stop = True
        w.join()
    s, r = json.loads(sout), json.loads(rout)
    if s["status"] != "completed" or r["status"] != "completed":
        sys.exit(f"bench: migration failed: {serr.decode()} {rerr.decode()}")
    for a, b in zip(s["devices"], r["devices"]):
        if a["state-hash"] != b["state-hash"]:
            sys.exit(f"bench: {a['name']}: hashes differ")
    if rss is not None:
        rss.append((watches[0].peak, watches[1].peak))
    return s["transferred"] / (s["total-time"] / 1000), s


def state_file(n, size, pattern):
    """The devices' raw streams, for the shell baselines (tmpfs)."""
    path = os.path.join(SHM, f"vfmig-bench-{pattern}-{n}x{size}")
    if not os.path.exists(path):
        subprocess.run([TOOL, "save", "-o", path, "-z", "none"]
                       + devs(n, size, pattern), check=True,
                       stdout=subprocess.DEVNULL)
    return path


def shell_pipeline(path, compress):
    port = free_port()
    rx = f"nc -l 127.0.0.1 {port}" + (" | zstd -q -d -c" if compress else "") \
        + " > /dev/null"
    tx = f"cat {path}" + (" | zstd -q -1 -T2 -c" if compress else "") \
        + f" | nc -N 127.0.0.1 {port}"
    recv = subprocess.Popen(["bash", "-c", rx])
    wait_listen(port)
    t0 = time.monotonic()
    subprocess.run(["bash", "-c", tx], check=True)
    recv.wait()
    return os.path.getsize(path) / (time.monotonic() - t0)


def median_of(fn, runs):
    vals = [fn() for _ in range(runs)]
    return statistics.median(vals), vals


def gbps(x):
    return f"{x / 1e9:6.3f} GB/s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", default="256M")
    ap.add_argument("--rss-size", default="2G",
                    help="per device, 4 devices: the memory-bound case")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("-j", "--json", action="store_true")
    a = ap.parse_args()
    res = {}

    print(f"vfio-migrate bench: {a.runs} runs each, medians; "
          f"{os.cpu_count()} CPUs; source and destination on this machine")

    fb = state_file(4, a.size, "fb")
    rnd = state_file(4, a.size, "random")

    m, v = median_of(lambda: ours(4, a.size, "fb", 2, "auto")[0], a.runs)
    res["ours-fb"] = m
    print(f"1. ours, 4 x {a.size} fb, 2 channels, -z auto  {gbps(m)}  runs {[round(x / 1e9, 3) for x in v]}")
    m, v = median_of(lambda: shell_pipeline(fb, True), a.runs)
    res["naive-fb"] = m
    print(f"2. cat | zstd -1 -T2 | nc | zstd -d (same bytes) {gbps(m)}  runs {[round(x / 1e9, 3) for x in v]}")
    m, v = median_of(lambda: ours(4, a.size, "random", 2, "none")[0], a.runs)
    res["ours-random-none"] = m
    print(f"3. ours, 4 x {a.size} random, -z none         {gbps(m)}  runs {[round(x / 1e9, 3) for x in v]}")
    m, v = median_of(lambda: shell_pipeline(rnd, False), a.runs)
    res["plain-copy"] = m
    print(f"   cat | nc (same bytes, uncompressed)         {gbps(m)}  runs {[round(x / 1e9, 3) for x in v]}")

    r1 = res["ours-fb"] / res["naive-fb"]
    r3 = res["ours-random-none"] / res["plain-copy"]
    print()
    print(f"case 1: {gbps(res['ours-fb'])} (target >= 1.2 GB/s: "
          f"{'met' if res['ours-fb'] >= 1.2e9 else 'MISSED'}); "
          f"{r1:.2f}x the naive pipeline (target >= 1.5x: {'met' if r1 >= 1.5 else 'MISSED'})")
    print(f"case 3: {r3:.2f}x a plain copy (target >= 0.9x: {'met' if r3 >= 0.9 else 'MISSED'})")
    res["ratio-1"], res["ratio-3"] = r1, r3

    if not a.no_rss:
        rss = []
        ours(4, a.rss_size, "random", 2, "zstd", extra_send=["--memory", "64M"],
             rss=rss)
        s, r = rss[0]
        bound = 2 * 64 * 2**20 + 32 * 2**20
        total = 4 * int(subprocess.run([TOOL, "info", "-j", "-d",
                                        f"sim:size={a.rss_size}"],
                                       capture_output=True, text=True)
                        .stdout and json.loads(subprocess.run(
                            [TOOL, "info", "-j", "-d", f"sim:size={a.rss_size},sizes=exact"],
                            capture_output=True, text=True).stdout)["stopcopy-bytes"])
        print(f"peak RSS, 4 x {a.rss_size} random ({total / 2**30:.1f} GiB streamed), "
              f"--memory 64M, without the sims' state: send {s / 2**20:.0f} MiB, "
              f"recv {r / 2**20:.0f} MiB (bound {bound / 2**20:.0f} MiB: "
              f"{'met' if max(s, r) <= bound else 'MISSED'})")
        res["rss-send"], res["rss-recv"] = s, r
    for f in (fb, rnd):
        os.unlink(f)
    if a.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
