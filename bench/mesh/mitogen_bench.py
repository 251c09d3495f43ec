#!/usr/bin/python3
"""Mitogen's figures for bench/mesh.sh, measured the way the Go driver
(mesh/internal/meshbench) measures muster's:

  start       connect a child and make one trivial call (then shut it down)
  rtt         sequential trivial calls, per-call latency p50 and p99
  pipelined   N call_async, then collect every reply: calls per second
  file        FileService.get of a registered file by the child: MB/s

for a local child (router.local) and, with --ssh-host, for a child over
ssh (router.ssh, compression off: the data is random). Prints "key value"
lines; times in milliseconds or microseconds as the key says.

Run it with Debian's /usr/bin/python3 and python3-mitogen (0.3.3).
"""
import argparse
import os
import statistics
import sys
import time

import mitogen.core
import mitogen.master
import mitogen.service
import mitogen.utils


def do_nothing():
    return None


class _Counter(object):
    """A write-only file that counts bytes."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)


def fetch(parent, path):
    """Runs in the child: pull path from the parent's FileService."""
    out = _Counter()
    ok, _ = mitogen.service.FileService.get(parent, path, out)
    if not ok:
        raise Exception("transfer of %r interrupted" % (path,))
    return out.n


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def measure(router, label, make, args, path, size):
    starts = []
    for _ in range(args.starts):
        t = time.perf_counter()
        c = make()
        c.call(do_nothing)
        starts.append(time.perf_counter() - t)
        c.shutdown(wait=True)
    print("%s.start_ms %.2f" % (label, statistics.median(starts) * 1e3))
    sys.stdout.flush()

    c = make()
    for _ in range(min(500, args.n)):
        c.call(do_nothing)
    lat = []
    for _ in range(args.n):
        t = time.perf_counter()
        c.call(do_nothing)
        lat.append(time.perf_counter() - t)
    print("%s.rtt_p50_us %.1f" % (label, pct(lat, 0.50) * 1e6))
    print("%s.rtt_p99_us %.1f" % (label, pct(lat, 0.99) * 1e6))

    t = time.perf_counter()
    recvs = [c.call_async(do_nothing) for _ in range(args.n)]
    for r in recvs:
        r.get().unpickle()
    print("%s.pipelined_per_s %.0f" % (label, args.n / (time.perf_counter() - t)))
    sys.stdout.flush()

    if path:
        c.call(fetch, router.myself(), path)  # warm: service activation
        t = time.perf_counter()
        n = c.call(fetch, router.myself(), path)
        dt = time.perf_counter() - t
        if n != size:
            raise Exception("fetched %d bytes, want %d" % (n, size))
        print("%s.file_mb_s %.1f" % (label, size / dt / 1e6))
    c.shutdown(wait=True)
    sys.stdout.flush()


def main(router):
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--file", default="")
    ap.add_argument("--ssh-config", default="")
    ap.add_argument("--ssh-host", default="")
    ap.add_argument("--ssh-starts", type=int, default=5)
    ap.add_argument("--ssh-n", type=int, default=2000)
    args = ap.parse_args()

    size = 0
    if args.file:
        size = os.path.getsize(args.file)
        fs = mitogen.service.FileService(router)
        fs.register(args.file)
        mitogen.service.Pool(router, services=[fs])

    py = "/usr/bin/python3"
    measure(router, "local", lambda: router.local(python_path=py), args, args.file, size)
    if args.ssh_host:
        args.starts, args.n = args.ssh_starts, args.ssh_n
        measure(router, "ssh", lambda: router.ssh(
            hostname=args.ssh_host, python_path=py, check_host_keys="ignore",
            compression=False, ssh_args=["-F", args.ssh_config]), args, args.file, size)


if __name__ == "__main__":
    mitogen.utils.run_with_router(main)
