"""Mixed-load generator of the benchmark: simulated users with think time, in a process of its own.

`python -m bench.load USERS_JSON --base-url URL --users 200 --duration 300` prints one JSON object:
latency percentiles (all requests and per kind) and errors. Patients read their DMP list and
upload documents (API, token), CHU clinicians read hospital records and a typical patient's DMP
(API, token), GPs open their new-documents dashboard (the page, with a verified session).
Think time between two requests of a user: uniform 1-3 s. Users start spread over the first 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

import aiohttp

SHARES = {"patient": 0.5, "clinician": 0.3, "gp": 0.2}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Recorder:
    def __init__(self):
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []

    def add(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if len(self.error_samples) < 10:
                self.error_samples.append(f"{kind}: {detail}")

    def summary(self, duration: float) -> dict:
        every = [v for values in self.latencies.values() for v in values]
        kinds = {
            kind: {
                "requests": len(values),
                "errors": self.errors.get(kind, 0),
                "p50_ms": percentile(values, 50) * 1000,
                "p95_ms": percentile(values, 95) * 1000,
                "p99_ms": percentile(values, 99) * 1000,
            }
            for kind, values in sorted(self.latencies.items())
        }
        return {
            "requests": len(every),
            "errors": sum(self.errors.values()),
            "rps": len(every) / duration,
            "p50_ms": (percentile(every, 50) or 0) * 1000,
            "p95_ms": (percentile(every, 95) or 0) * 1000,
            "p99_ms": (percentile(every, 99) or 0) * 1000,
            "kinds": kinds,
            "error_samples": self.error_samples,
        }


async def _timed(session, recorder, kind, method, url, **kwargs):
    started = time.monotonic()
    try:
        async with session.request(method, url, **kwargs) as response:
            await response.read()
            ok = 200 <= response.status < 300
            recorder.add(kind, time.monotonic() - started, ok, f"HTTP {response.status}")
    except Exception as exc:  # noqa: BLE001 - any failure is an error of the scenario
        recorder.add(kind, time.monotonic() - started, False, repr(exc))


async def patient(session, base, user, recorder, pdf, stop):
    headers = {"Authorization": f"Token {user['token']}"}
    url = f"{base}/api/v1/dmp/{user['patient_id']}/documents/"
    while time.monotonic() < stop:
        if random.random() < 0.1:
            form = aiohttp.FormData()
            form.add_field("title", "Mon document")
            form.add_field("file", pdf, filename="document.pdf", content_type="application/pdf")
            await _timed(session, recorder, "patient_upload", "POST", url, headers=headers, data=form)
        else:
            await _timed(session, recorder, "patient_dmp_list", "GET", url, headers=headers)
        await asyncio.sleep(random.uniform(1, 3))


async def clinician(session, base, user, typical, recorder, pdf, stop):
    headers = {"Authorization": f"Token {user['token']}"}
    while time.monotonic() < stop:
        if random.random() < 0.7:
            patient_id = random.choice(user["unit_patients"])
            url = f"{base}/api/v1/patients/{patient_id}/record/"
            await _timed(session, recorder, "clinician_record", "GET", url, headers=headers)
        else:
            url = f"{base}/api/v1/dmp/{random.choice(typical)}/documents/"
            await _timed(session, recorder, "clinician_dmp_list", "GET", url, headers=headers)
        await asyncio.sleep(random.uniform(1, 3))


async def gp(session, base, user, recorder, pdf, stop):
    headers = {"Cookie": f"sessionid={user['session']}"}
    url = f"{base}/dmp/pro/nouveaux-documents/"
    while time.monotonic() < stop:
        await _timed(session, recorder, "gp_dashboard", "GET", url, headers=headers, allow_redirects=False)
        await asyncio.sleep(random.uniform(1, 3))


async def run(users: dict, base: str, count: int, duration: float, pdf: bytes) -> dict:
    recorder = Recorder()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    started = time.monotonic()
    stop = started + duration
    tasks = []

    async def delayed(coroutine_factory):
        await asyncio.sleep(random.uniform(0, 3))
        await coroutine_factory()

    # No shared cookie jar: each simulated user sends its own credentials with every request.
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=jar) as session:
        n_patients = round(count * SHARES["patient"])
        n_clinicians = round(count * SHARES["clinician"])
        n_gps = count - n_patients - n_clinicians
        for i in range(n_patients):
            u = users["patients"][i % len(users["patients"])]
            tasks.append(delayed(lambda u=u: patient(session, base, u, recorder, pdf, stop)))
        for i in range(n_clinicians):
            u = users["clinicians"][i % len(users["clinicians"])]
            tasks.append(delayed(lambda u=u: clinician(session, base, u, users["typical"], recorder, pdf, stop)))
        for i in range(n_gps):
            u = users["gps"][i % len(users["gps"])]
            tasks.append(delayed(lambda u=u: gp(session, base, u, recorder, pdf, stop)))
        await asyncio.gather(*tasks)
    return recorder.summary(time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("users_json")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--pdf", required=True, help="a small PDF file for the uploads")
    args = parser.parse_args()
    with open(args.users_json) as handle:
        users = json.load(handle)
    with open(args.pdf, "rb") as handle:
        pdf = handle.read()
    print(json.dumps(asyncio.run(run(users, args.base_url.rstrip("/"), args.users, args.duration, pdf))))


if __name__ == "__main__":
    main()
