"""What systemd does for a service, for the tests (test_systemd.sh).

notify PATH OUT: bind a datagram socket at PATH ('@name': abstract), say
"ready", write the first datagram to OUT and exit (sd_notify(3)'s peer).

activate PORTFILE CMD...: listen on 127.0.0.1:0, write the port to
PORTFILE, then exec CMD with the socket as fd 3 and LISTEN_PID/LISTEN_FDS
set (sd_listen_fds(3)'s protocol), as a .socket unit would.
"""
import os
import socket
import sys


def notify(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + path[1:] if path.startswith("@") else path)
    print("ready", flush=True)
    s.settimeout(60)
    data = s.recv(4096)
    with open(out + ".tmp", "wb") as f:
        f.write(data)
    os.rename(out + ".tmp", out)


def activate(portfile, cmd):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)  # the socket may be fd 3 already
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = "1"
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    if sys.argv[1] == "notify":
        notify(sys.argv[2], sys.argv[3])
    else:
        activate(sys.argv[2], sys.argv[3:])
