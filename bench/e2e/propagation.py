#!/usr/bin/env python3
"""How long a discovery change takes to reach routing.

Drives one sluice HTTP listener whose cluster comes from discovery. Each round adds a new
endpoint (alternating between two backends, so the set stays {base, new}) through `--apply`
and sends requests on one keep-alive connection until one is answered by the new backend; the
time from the change to that answer is the round's propagation time. The backends answer
"backend NAME" (tests/support's sluice-test-backend in http mode).

  propagation.py --port P --base a=127.0.0.1:1 --alternate b=127.0.0.1:2,c=127.0.0.1:3
                 --apply file:/path/endpoints.yaml [--rounds 200]
"""
import argparse
import http.client
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
    if kind != "file":
        sys.exit("unknown --apply " + kind)

    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    times = []
    for i in range(args.rounds):
        name, addr = alternates[i % len(alternates)]
        # Let the previous change settle (the control plane coalesces bursts: a lone change
        # is what this measures).
        time.sleep(0.15)
        start = time.perf_counter()
        write_file(target, [base_addr, addr])
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


if __name__ == "__main__":
    main()
