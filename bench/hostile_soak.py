"""The attacks of issue 26 at once, beside a normal load (bench/hostile-soak runs it).

Standard library only: asyncio, raw HTTP/1.1 and a minimal WebSocket client. Every loop is
bounded by the run's deadline; every target is the server on 127.0.0.1 (other 127.0.0.0/8
addresses give the per-address limits distinct clients). Prints one line every ten seconds and
a summary; writes the gateway readings acknowledged with 200 to /tmp/cityguard-soak-acked.
"""

import argparse
import asyncio
import json
import os
import random
import time

import benchnet
from benchnet import call, connect, now, read_response, request_bytes, rss_mb, ws_frame, ws_open, ws_read

ARGS = None
DEADLINE = 0.0
STATS = {
    "acked": 0, "gateway_errors": 0, "op_errors": 0, "feed_events": 0,
    "feed_reconnects": 0, "attack_requests": 0, "replays_200": 0, "replays_503": 0,
    "wrong_answers": {}, "silences_409": 0, "csv_neutralised": None,
}


def running():
    return now() < DEADLINE


# --- set-up ------------------------------------------------------------------------------------

async def setup():
    key = ARGS.key
    sites = [{"id": "GW", "name": "gateways", "domain": "gas_pipeline", "district": "福田区", "lat": 22.5, "lon": 114.0},
             {"id": "R", "name": "replayed", "domain": "gas_pipeline", "district": " =1+1", "lat": 22.5, "lon": 114.0}]
    # 2,000 open alarms on sites of 20 sensors (one site of thousands makes compound rules slow).
    sites += [{"id": f"M{j}", "name": f"many {j}", "domain": "gas_pipeline", "district": "\t=1+1" if j == 0 else "福田区",
               "lat": 22.5, "lon": 114.0} for j in range(100)]
    sensors = [{"id": f"GW-{i}", "site": "GW", "kind": "gas_lel", "unit": "%LEL", "interval_s": 3600} for i in range(200)]
    sensors += [{"id": f"M-{i}", "site": f"M{i // 20}", "kind": "gas_lel", "unit": "%LEL", "interval_s": 3600} for i in range(2000)]
    sensors += [{"id": f"R-{i}", "site": "R", "kind": "gas_lel", "unit": "%LEL", "interval_s": 3600} for i in range(10)]
    status, body, _ = await call("POST", "/api/v1/registry", key, json.dumps({"sites": sites, "sensors": sensors}))
    assert status == 200, body
    keys = {}
    for name, role in (("soak-op", "operator"), ("soak-gw", "gateway"), ("soak-mon", "monitor")):
        status, body, _ = await call("POST", "/api/v1/keys", key, json.dumps({"name": name, "role": role}))
        assert status == 201, body
        keys[role] = json.loads(body)["key"]
    # 2,000 open alarms: every snapshot is large.
    ts = int(time.time() * 1000) - 60_000
    status, body, _ = await call("POST", "/api/v1/readings", key,
                                 json.dumps({"readings": [{"sensor": f"M-{i}", "ts": ts, "value": 60} for i in range(2000)]}))
    assert status == 200, body
    # Readings to replay: ARGS.replay_readings over the last hours, 10 sensors.
    start = int(time.time() * 1000) - 20 * 3600 * 1000
    for batch in range(ARGS.replay_readings // 10_000):
        readings = [{"sensor": f"R-{i % 10}", "ts": start + batch * 1000 + i // 10, "value": 1.0} for i in range(10_000)]
        status, body, _ = await call("POST", "/api/v1/readings", key, json.dumps({"readings": readings}), timeout=120)
        assert status == 200, body
    with open(ARGS.operator_key_file, "w") as f:
        f.write(keys["operator"])
    return keys, start


# --- the normal load (the operators: bench/hostile-soak's curl prober) ----------------------------

async def gateway(index, key):
    sensor_base = index * 50
    ts = int(time.time() * 1000) - 10 * 3600 * 1000 + index * 10_000_000
    reader = writer = None
    while running():
        body = json.dumps({"readings": [{"sensor": f"GW-{sensor_base + i % 50}", "ts": ts + i, "value": 1.0}
                                        for i in range(100)]})
        ts += 100
        try:
            if writer is None:
                reader, writer = await connect()
            writer.write(request_bytes("POST", "/api/v1/readings", key, body))
            status, data = await asyncio.wait_for(read_response(reader), 30)
            if status == 200:
                STATS["acked"] += json.loads(data)["accepted"]
            else:
                STATS["gateway_errors"] += 1
                if status == 503:
                    ts -= 100  # the same readings again, as a gateway retries
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            STATS["gateway_errors"] += 1
            writer = None
            ts -= 100
        await asyncio.sleep(0.1)


async def feed_client(key):
    while running():
        try:
            reader, writer = await ws_open(key)
            writer.write(ws_frame(json.dumps({"type": "subscribe"})))
            while running():
                opcode, payload = await asyncio.wait_for(ws_read(reader), 5)
                if opcode == 8:
                    break
                if opcode == 9:  # ping: answer
                    mask = os.urandom(4)
                    writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask +
                                 bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                if opcode == 1:
                    STATS["feed_events"] += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        STATS["feed_reconnects"] += 1
        await asyncio.sleep(0.5)


# --- the attacks -------------------------------------------------------------------------------

async def feed_flood(key, source):
    """Subscribes 38 times, never reads; reconnects every 30 s."""
    while running():
        try:
            reader, writer = await ws_open(key, source)
            for _ in range(38):
                writer.write(ws_frame(json.dumps({"type": "subscribe"})))
            STATS["attack_requests"] += 1
            await asyncio.sleep(30)
            writer.close()
        except (OSError, asyncio.IncompleteReadError):
            await asyncio.sleep(1)


async def idle_sockets(source, count):
    held = []
    while running():
        held = [w for w in held if not w.is_closing()]
        while len(held) < count and running():
            try:
                _, writer = await connect(source)
                held.append(writer)
            except OSError:
                break
        await asyncio.sleep(2)
    for w in held:
        w.close()


async def pinned(key, source, target, body):
    while running():
        try:
            reader, writer = await connect(source)
            writer.write(request_bytes("POST" if body else "GET", target, key, body))
            await read_response(reader)
            STATS["attack_requests"] += 1
            while running():
                # Kept alive and idle, then another request before the idle timeout.
                await asyncio.sleep(20)
                writer.write(request_bytes("POST" if body else "GET", target, key, body))
                await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            await asyncio.sleep(1)


async def chunked(key, source):
    chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
    while running():
        try:
            reader, writer = await connect(source)
            writer.write(request_bytes("POST", "/api/v1/readings", key, None,
                                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"))
            for _ in range(8):
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(5)  # held, not streamed: the attacker stays lean
            STATS["attack_requests"] += 1
            writer.close()
        except (OSError, asyncio.IncompleteReadError):
            await asyncio.sleep(1)


async def replays(pack, start):
    body = json.dumps({"pack": pack, "site": "R",
                       "from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start / 1000 - 1)),
                       "to": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time()))})

    async def one():
        status, _, _ = await call("POST", "/api/v1/rules/replay", ARGS.key, body, timeout=120)
        STATS["replays_200" if status == 200 else "replays_503"] += 1

    while running():
        await asyncio.gather(*(one() for _ in range(8)))
        await asyncio.sleep(1)


async def wrong_keys():
    while running():
        for a in range(100):
            if not running():
                break
            await call("GET", "/api/v1/sites", "wrong-" + os.urandom(8).hex(), source=f"127.0.1.{a + 1}", timeout=10)
            STATS["attack_requests"] += 1
        await asyncio.sleep(0.05)


async def wrong_answers():
    checks = [
        ("stats year 1", "GET", "/api/v1/stats?to=0001-01-29", None, ""),
        ("stats week year 1", "GET", "/api/v1/stats?from=0001-01-01&to=0001-03-01&group_by=week", None, ""),
        ("csv year 1", "GET", "/api/v1/stats/export?to=0001-01-29", None, ""),
        ("TE gzip, chunked", "POST", "/api/v1/readings", None,
         "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n"),
        ("TE obs-fold", "POST", "/api/v1/readings", None,
         "Content-Type: application/json\r\nTransfer-Encoding:\r\n chunked\r\n"),
    ]
    while running():
        for name, method, target, body, extra in checks:
            status, _, _ = await call(method, target, ARGS.key, body, extra=extra, timeout=10)
            STATS["wrong_answers"].setdefault(name, set()).add(status)
        status, data, _ = await call("GET", "/api/v1/stats/export?group_by=district&lang=en", ARGS.key, timeout=30)
        if status == 200:
            text = data.decode("utf-8", "replace")
            STATS["csv_neutralised"] = "\r\n\t=1+1" not in text and "\r\n =1+1" not in text
        await asyncio.sleep(1)


async def silences(key):
    while running():
        status, body, _ = await call("POST", "/api/v1/silences", key,
                                     json.dumps({"site": f"S{random.randrange(10**6)}", "duration_s": 600, "reason": "soak"}))
        if status == 409:
            STATS["silences_409"] += 1
            await asyncio.sleep(1)


# --- the run -----------------------------------------------------------------------------------

def probe_latencies(seen):
    """The operator prober's answers since the last call: (latencies of 200s, other answers).
    bench/hostile-soak runs the prober as its own process (curl), so that this busy event loop
    does not add to what it measures."""
    try:
        with open(ARGS.probe_file) as f:
            lines = f.read().splitlines()
    except OSError:
        return [], 0
    fresh = lines[seen[0]:]
    seen[0] = len(lines)
    ok = [float(l.split()[1]) for l in fresh if l.startswith("200 ")]
    return ok, len(fresh) - len(ok)


async def report(pid):
    rows = []
    started = now()
    seen = [0]
    while running():
        await asyncio.sleep(10)
        lat, failed = probe_latencies(seen)
        STATS["op_errors"] += failed
        lat = sorted(lat)
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else float("nan")
        rss = rss_mb(pid)
        rows.append((rss, p99))
        print(f"t={now() - started:4.0f}s rss={rss:6.0f}MB operator p99={p99:6.0f}ms (n={len(lat)}, "
              f"errors={STATS['op_errors']}) acked={STATS['acked']} gateway errors={STATS['gateway_errors']} "
              f"feed events={STATS['feed_events']} reconnects={STATS['feed_reconnects']} "
              f"replays 200/503={STATS['replays_200']}/{STATS['replays_503']} silences 409={STATS['silences_409']}",
              flush=True)
    return rows


async def main():
    global DEADLINE
    keys, start = await setup()
    with open(os.path.join(os.path.dirname(__file__), "..", "config", "rules", "gas_pipeline.json")) as f:
        pack = json.load(f)
    DEADLINE = now() + ARGS.duration
    tasks = [asyncio.create_task(gateway(i, keys["gateway"])) for i in range(4)]
    tasks.append(asyncio.create_task(feed_client(keys["operator"])))
    tasks += [asyncio.create_task(feed_flood(keys["operator"], f"127.0.2.{i % 4 + 1}")) for i in range(80)]
    tasks.append(asyncio.create_task(idle_sockets("127.0.0.2", 256)))
    tasks += [asyncio.create_task(pinned(keys["gateway"], f"127.0.3.{i % 3 + 1}", "/api/v1/readings", '{"readings":[]}'))
              for i in range(320)]
    tasks += [asyncio.create_task(pinned(keys["monitor"], f"127.0.4.{i % 3 + 1}", "/api/v1/sites", None)) for i in range(320)]
    tasks += [asyncio.create_task(chunked(keys["gateway"], f"127.0.5.{i % 2 + 1}")) for i in range(150)]
    tasks.append(asyncio.create_task(replays(pack, start)))
    tasks.append(asyncio.create_task(wrong_keys()))
    tasks.append(asyncio.create_task(wrong_answers()))
    tasks.append(asyncio.create_task(silences(keys["operator"])))
    rows = await report(ARGS.pid)
    await asyncio.sleep(2)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    half = len(rows) // 2
    first, second = rows[:half] or rows, rows[half:] or rows
    p99s = [p for _, p in rows if p == p]
    print(f"RSS MB: max of the first half {max(r for r, _ in first):.0f}, of the second half {max(r for r, _ in second):.0f}; "
          f"operator p99 per 10 s: worst {max(p99s or [0]):.0f} ms, median {sorted(p99s or [0])[len(p99s or [0]) // 2]:.0f} ms")
    print("wrong answers (statuses seen): " + ", ".join(f"{k}: {sorted(v)}" for k, v in STATS["wrong_answers"].items()))
    print(f"CSV export neutralised the formula districts: {STATS['csv_neutralised']}")
    with open("/tmp/cityguard-soak-acked", "w") as f:
        f.write(str(STATS["acked"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--replay-readings", type=int, default=500_000)
    parser.add_argument("--operator-key-file", default="/tmp/cityguard-soak-operator-key")
    parser.add_argument("--probe-file", default="/tmp/cityguard-soak-probe")
    ARGS = parser.parse_args()
    benchnet.PORT = ARGS.port
    asyncio.run(main())
