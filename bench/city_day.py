"""A city's day at 60 x speed (issue 31, target 5); bench/city-day runs it.

The city: sensors on sites in Shenzhen's ten districts and every pack's domain. Gas monitors in
manholes report every minute; the rest every 5, 15 or 60 minutes, at quiet values, so the rules
judge everything and raise nothing. Gateways (one per few hundred sensors) post each minute's
due readings as one batch, and retry a 503 after its Retry-After as a gateway does. At 60 x a day
minute takes one second.

The incident storm: at --storm-hour, --storm-alarms gas monitors go to 30 %LEL (orange), spread
evenly over ten day minutes, and back to quiet after them: that many alarms in ten minutes.

Operators work the open alarms all day (list, then acknowledge, each operator its share), and the
cockpit (GET /api/v1/overview) is polled; the dashboards on the feed are cityguard-feed-bench
--mode watch, started beside this by the script. Everything a figure needs is timed here per
phase ("quiet": outside the storm; "storm": its ten minutes and the five after them).

  city_day.py registry --out FILE [city options]     the registry (sites and sensors)
  city_day.py run --port P --key K --pid PID [...]   drive the day; prints RESULT lines
"""

import argparse
import asyncio
import glob
import json
import random
import time

import benchnet
from benchnet import connect, read_response, request_bytes, rss_mb

DISTRICTS = ["福田区", "罗湖区", "南山区", "盐田区", "宝安区", "龙岗区", "龙华区", "坪山区", "光明区", "大鹏新区"]
INTERVALS_S = [300, 300, 300, 300, 300, 900, 900, 900, 3600, 3600]  # the sensors that are not gas monitors
SENSORS_PER_SITE = 20
STORM_MINUTES = 10
STORM_VALUE = 30.0  # %LEL: orange in gas_pipeline.manhole_lel


def city(args):
    """The same city for both commands: [(id, site, kind, interval_s, quiet value, gas monitor)], sites."""
    rng = random.Random(7)
    quiet = json.load(open("bench/quiet.json"))["values"]
    kinds = []
    for pack_path in sorted(glob.glob("config/rules/*.json")):
        pack = json.load(open(pack_path))
        kinds += [(pack["domain"], k["kind"]) for k in pack.get("sensor_kinds", []) if k["kind"] in quiet]
    sites, sensors, filling = [], [], {}  # filling: domain -> (its newest site, sensors on it)

    def site_of(domain):
        site, n = filling.get(domain, (None, SENSORS_PER_SITE))
        if n == SENSORS_PER_SITE:
            site, n = f"{domain}-{len(sites)}", 0
            sites.append({"id": site, "name": site, "domain": domain, "district": DISTRICTS[len(sites) % len(DISTRICTS)],
                          "lat": round(22.5 + rng.random() * 0.3, 5), "lon": round(113.8 + rng.random() * 0.6, 5)})
        filling[domain] = (site, n + 1)
        return site

    monitors = max(args.storm_alarms, args.sensors // 10)
    for i in range(monitors):
        sensors.append((f"GM-{i}", site_of("gas_pipeline"), "gas_lel", 60, quiet["gas_lel"], True))
    for i in range(args.sensors - monitors):
        domain, kind = kinds[i % len(kinds)]
        sensors.append((f"S-{i}", site_of(domain), kind, INTERVALS_S[i % len(INTERVALS_S)], quiet[kind], False))
    return sensors, sites


def write_registry(args):
    sensors, sites = city(args)
    limits = json.load(open("bench/quiet.json"))["limits"]
    doc = {"sites": sites, "sensors": [{"id": s[0], "site": s[1], "kind": s[2], "unit": "", "interval_s": s[3],
                                        "limits": limits} for s in sensors]}
    json.dump(doc, open(args.out, "w"), ensure_ascii=False)
    per_minute = sum(60 / s[3] for s in sensors)
    print(f"{len(sensors)} sensors on {len(sites)} sites; {per_minute:.0f} readings a day minute, "
          f"{per_minute * args.speed / 60:.0f}/s at {args.speed:g} x")


# --- the run -----------------------------------------------------------------------------------

class Phases:
    """Samples by phase: quiet or storm."""

    def __init__(self):
        self.samples = {"quiet": {}, "storm": {}}

    def add(self, phase, name, value):
        self.samples[phase].setdefault(name, []).append(value)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(len(v) * p + 0.999999) - 1))]


class Day:
    def __init__(self, args):
        self.args = args
        self.tick_s = 60.0 / args.speed
        self.minutes = int(args.hours * 60)
        self.storm_start = int(args.storm_hour * 60)
        self.start = 0.0
        self.phases = Phases()
        self.acked = 0
        self.refused = 0
        self.failed = 0
        self.acknowledged = 0
        self.conflicts = 0
        self.max_lag_s = 0.0

    def phase(self, minute):
        in_storm = self.storm_start <= minute < self.storm_start + STORM_MINUTES + 5
        return "storm" if in_storm else "quiet"

    def minute_now(self):
        return int((time.monotonic() - self.start) / self.tick_s)

    def running(self):
        return self.minute_now() < self.minutes

    async def gateway(self, index, sensors, rng):
        """Each sensor: (id, every n minutes, its minute within them, quiet value, storm offset or None)."""
        source = f"127.0.1.{index % 50 + 1}"  # gateways are many addresses (http.max_connections_per_client)
        reader = writer = None
        # Gateways are not synchronised: each posts at its own second within the minute.
        offset = index / self.args.gateways
        for minute in range(self.minutes):
            due = self.start + (minute + offset) * self.tick_s
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.max_lag_s = max(self.max_lag_s, -delay)
            ts = int(time.time() * 1000)
            parts = []
            for sid, every, phase, quiet, storm_offset in sensors:
                if minute % every != phase:
                    continue
                value = quiet * (1 + rng.random() * 0.003)
                if storm_offset is not None and self.storm_start + storm_offset <= minute < self.storm_start + STORM_MINUTES:
                    value = STORM_VALUE
                parts.append(f'{{"sensor":"{sid}","ts":{ts},"value":{value:.4g}}}')
            if not parts:
                continue
            request = request_bytes("POST", "/api/v1/readings", self.args.key, '{"readings":[' + ",".join(parts) + "]}")
            while True:
                sent = time.monotonic()
                try:
                    if writer is None:
                        reader, writer = await connect(source)
                    writer.write(request)
                    status, body = await asyncio.wait_for(read_response(reader), 60)
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                    self.failed += 1
                    writer = None
                    await asyncio.sleep(0.5)
                    continue
                if status == 200:
                    self.acked += json.loads(body)["accepted"]
                    self.phases.add(self.phase(minute), "post_ms", (time.monotonic() - sent) * 1000)
                    break
                if status == 503:  # the same readings again after the Retry-After, as a gateway does
                    self.refused += 1
                    await asyncio.sleep(0.2 + rng.random() * 0.3)
                    continue
                raise SystemExit(f"gateway: {status} {body[:200]!r}")

    async def operator(self, index, count):
        """Lists the open alarms once a second and acknowledges its share, at most five a second."""
        reader = writer = None
        while self.running():
            await asyncio.sleep(1.0)
            try:
                if writer is None:
                    reader, writer = await connect()
                writer.write(request_bytes("GET", "/api/v1/alarms?status=open&limit=100", self.args.key))
                status, body = await asyncio.wait_for(read_response(reader), 30)
                if status != 200:
                    continue
                mine = [a["id"] for a in json.loads(body)["alarms"] if a["id"] % count == index][:5]
                for alarm_id in mine:
                    sent = time.monotonic()
                    writer.write(request_bytes("POST", f"/api/v1/alarms/{alarm_id}/acknowledge", self.args.key,
                                               '{"note":"已签收，派员到场"}'))
                    status, _ = await asyncio.wait_for(read_response(reader), 30)
                    if status == 200:
                        self.acknowledged += 1
                        self.phases.add(self.phase(self.minute_now()), "ack_ms", (time.monotonic() - sent) * 1000)
                    elif status == 409:
                        self.conflicts += 1
                    await asyncio.sleep(0.2)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, KeyError):
                writer = None

    async def cockpit(self):
        reader = writer = None
        while self.running():
            await asyncio.sleep(2.0)
            try:
                if writer is None:
                    reader, writer = await connect()
                sent = time.monotonic()
                writer.write(request_bytes("GET", "/api/v1/overview", self.args.key))
                status, _ = await asyncio.wait_for(read_response(reader), 30)
                if status == 200:
                    self.phases.add(self.phase(self.minute_now()), "overview_ms", (time.monotonic() - sent) * 1000)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                writer = None

    async def reporter(self):
        """One line per day hour, until the day's last minute is due."""
        last_cpu, last_acked, last_t = cpu_seconds(self.args.pid), 0, time.monotonic()
        rss_max = 0.0
        for hour in range(1, (self.minutes + 59) // 60 + 1):
            await asyncio.sleep(max(0.0, self.start + min(hour * 60, self.minutes) * self.tick_s - time.monotonic()))
            t, cpu = time.monotonic(), cpu_seconds(self.args.pid)
            rss = rss_mb(self.args.pid)
            rss_max = max(rss_max, rss)
            print(f"day {min(hour * 60, self.minutes) // 60:02d}:{min(hour * 60, self.minutes) % 60:02d}  readings {self.acked:>10}  "
                  f"{(self.acked - last_acked) / (t - last_t):7.0f}/s  server CPU {(cpu - last_cpu) / (t - last_t):4.2f} cores  "
                  f"rss {rss:5.0f} MB  503s {self.refused}  gateway lag max {self.max_lag_s * 1000:5.0f} ms  "
                  f"acknowledged {self.acknowledged}", flush=True)
            last_cpu, last_acked, last_t = cpu, self.acked, t
        return rss_max

    async def run(self):
        sensors, _ = city(self.args)
        rng = random.Random(11)
        monitors = [s for s in sensors if s[5]]
        storm = {s[0]: i * STORM_MINUTES // max(1, self.args.storm_alarms) for i, s in enumerate(monitors[: self.args.storm_alarms])}
        groups = [[] for _ in range(self.args.gateways)]
        for i, (sid, _site, _kind, interval_s, quiet, _monitor) in enumerate(sensors):
            every = max(1, interval_s // 60)
            groups[i * self.args.gateways // len(sensors)].append((sid, every, rng.randrange(every), quiet, storm.get(sid)))
        cpu0 = cpu_seconds(self.args.pid)
        self.start = time.monotonic() + 1.0
        tasks = [asyncio.create_task(self.gateway(i, g, random.Random(i))) for i, g in enumerate(groups)]
        helpers = [asyncio.create_task(self.operator(i, self.args.operators)) for i in range(self.args.operators)]
        helpers.append(asyncio.create_task(self.cockpit()))
        rss_max = await self.reporter()
        await asyncio.gather(*tasks)  # the last minute's posts answered
        seconds = time.monotonic() - self.start
        for h in helpers:
            h.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        cpu = cpu_seconds(self.args.pid) - cpu0
        for phase in ("quiet", "storm"):
            s = self.phases.samples[phase]
            print(f"RESULT phase={phase} posts={len(s.get('post_ms', []))} post_p99_ms={pct(s.get('post_ms', []), 0.99):.1f} "
                  f"acks={len(s.get('ack_ms', []))} ack_p50_ms={pct(s.get('ack_ms', []), 0.5):.1f} "
                  f"ack_p99_ms={pct(s.get('ack_ms', []), 0.99):.1f} overview_p99_ms={pct(s.get('overview_ms', []), 0.99):.1f}")
        print(f"RESULT day hours={self.args.hours:g} seconds={seconds:.0f} acked={self.acked} "
              f"readings_per_s={self.acked / seconds:.0f} refused_503={self.refused} failed={self.failed} "
              f"gateway_lag_max_ms={self.max_lag_s * 1000:.0f} acknowledged={self.acknowledged} conflicts={self.conflicts} "
              f"server_cpu_cores={cpu / seconds:.2f} rss_max_mb={rss_max:.0f} storm_sensors={len(storm)}")
        with open(self.args.acked_file, "w") as f:
            f.write(str(self.acked))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["registry", "run"])
    parser.add_argument("--sensors", type=int, default=100_000)
    parser.add_argument("--storm-alarms", type=int, default=5000)
    parser.add_argument("--speed", type=float, default=60)
    parser.add_argument("--out")
    parser.add_argument("--port", type=int)
    parser.add_argument("--key")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--storm-hour", type=float, help="default: a quarter into the replayed hours")
    parser.add_argument("--gateways", type=int, default=200)
    parser.add_argument("--operators", type=int, default=4)
    parser.add_argument("--acked-file", default="/tmp/cityguard-city-day-acked")
    args = parser.parse_args()
    if args.command == "registry":
        write_registry(args)
        return
    benchnet.PORT = args.port
    if args.storm_hour is None:
        args.storm_hour = args.hours / 4
    asyncio.run(Day(args).run())


if __name__ == "__main__":
    main()
