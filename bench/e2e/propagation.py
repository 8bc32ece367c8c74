#!/usr/bin/env python3
"""How long a discovery change takes to reach routing.

Drives one sluice HTTP listener whose cluster comes from discovery. Each round adds a new
endpoint (alternating between two backends, so the set stays {base, new}) through `--apply`
and sends requests on one keep-alive connection until one is answered by the new backend; the
time from the change to that answer is the round's propagation time. The backends answer
"backend NAME" (tests/support's sluice-test-backend in http mode).

  propagation.py --port P --base a=127.0.0.1:1 --alternate b=127.0.0.1:2,c=127.0.0.1:3
                 --apply file:/path/endpoints.yaml | etcd:127.0.0.1:2379:/prefix/ [--rounds 200]

With etcd each endpoint is one key; a round first deletes the previous alternate's key, waits,
then times the put of the new one.
"""
import argparse
import base64
import http.client
import json
import os
import statistics
import sys
import time


def write_file(path, addresses):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for a in addresses:
            f.write("- %s\n" % a)
    os.rename(tmp, path)  # atomic, as config management writes


class Etcd:
    """Puts and deletes through etcd's v3 JSON gateway."""

    def __init__(self, address, prefix):
        host, port = address.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=5)
        self.prefix = prefix

    def _call(self, path, body):
        self.conn.request("POST", path, json.dumps(body))
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            sys.exit("etcd %s: HTTP %d" % (path, r.status))

    def _key(self, name):
        return base64.b64encode((self.prefix + name).encode()).decode()

    def put(self, name, address):
        host, port = address.rsplit(":", 1)
        value = json.dumps({"address": host, "port": int(port)})
        self._call("/v3/kv/put", {"key": self._key(name),
                                  "value": base64.b64encode(value.encode()).decode()})

    def delete(self, name):
        self._call("/v3/kv/deleterange", {"key": self._key(name)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--alternate", required=True)
    ap.add_argument("--apply", required=True, help="file:PATH")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    base_name, base_addr = args.base.split("=")
    alternates = [a.split("=") for a in args.alternate.split(",")]
    kind, target = args.apply.split(":", 1)
    etcd = None
    if kind == "etcd":
        address, prefix = target.rsplit(":", 1)
        etcd = Etcd(address, prefix)
        etcd.put(base_name, base_addr)
    elif kind != "file":
        sys.exit("unknown --apply " + kind)

    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    times = []
    applied = []  # how long the change itself took (an etcd put returns once committed)
    for i in range(args.rounds):
        name, addr = alternates[i % len(alternates)]
        # Let the previous change settle: the control plane publishes at most every 100 ms,
        # so a change that follows another within that is a burst, and a lone change is what
        # this measures.
        if etcd:
            for other, _ in alternates:
                if other != name:
                    etcd.delete(other)
        time.sleep(0.25)
        start = time.perf_counter()
        if etcd:
            etcd.put(name, addr)
        else:
            write_file(target, [base_addr, addr])
        applied.append((time.perf_counter() - start) * 1000)
        while True:
            conn.request("GET", "/")
            body = conn.getresponse().read().decode()
            if body.strip() == "backend " + name:
                break
            if time.perf_counter() - start > args.timeout:
                sys.exit("round %d: %s never answered" % (i, name))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print("propagation over %d changes: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms, "
          "mean %.1f ms" % (len(times), p(0.5), p(0.9), p(0.99), times[-1],
                            statistics.mean(times)))
    applied.sort()
    print("  of which the change itself (%s): p50 %.1f ms, p99 %.1f ms"
          % (kind, applied[len(applied) // 2], applied[min(len(applied) - 1,
                                                         int(0.99 * len(applied)))]))


if __name__ == "__main__":
    main()
