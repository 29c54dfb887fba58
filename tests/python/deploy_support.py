"""Helpers for the UpdateEndpoint tests (test_deployments.py, test_update_validation.py).

- `Load`: a background thread pool invoking an endpoint through boto3 `sagemaker-runtime`
  (retries off) and recording every call: start/end time, outcome, model_version, pid, variant.
- `Watcher`: a background DescribeEndpoint poller (every 0.2 s) that keeps every snapshot until
  the endpoint leaves `Updating`.
- `Deployment`: one UpdateEndpoint under load, from acceptance to its outcome, plus the checks
  of docs/deployments.md#describeendpoint-during-an-update that hold for every snapshot taken while it runs.
- `report()`: prints one line per test and appends it to `target/deploy-report.jsonl`.

Everything polls with explicit deadlines; nothing sleeps to wait for a state.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from botocore.exceptions import BotoCoreError, ClientError

import support
from support import REPO_ROOT, error_parts, record_pid

REPORT_PATH = REPO_ROOT / "target" / "deploy-report.jsonl"
WATCH_POLL_S = 0.2
VARIANT_STATUSES = {"Creating", "Updating", "Deleting", "ActivatingTraffic", "Baking"}


# --------------------------------------------------------------------------------------------
# reporting


def report(test: str, mode: str, **figures: Any) -> dict:
    """One line per test: printed (visible with -s) and appended to target/deploy-report.jsonl."""
    line = {"test": test, "mode": mode, **figures,
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    text = json.dumps(line, sort_keys=False, default=str)
    print(f"\n[deploy-report] {text}")
    try:
        REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
        with open(REPORT_PATH, "a", encoding="utf-8") as f:
            f.write(text + "\n")
    except OSError:
        pass
    return line


class Reporter:
    """Appends the test's figures to target/deploy-report.jsonl at the end, passed or not."""

    def __init__(self, request, mode: str):
        self.request, self.mode, self.figures, self.extra = request, mode, {}, {}
        self.t0 = time.monotonic()

    def __enter__(self) -> "Reporter":
        return self

    def __exit__(self, exc_type, exc, tb):
        first = (str(exc).splitlines() or [""])[0][:300] if exc is not None else ""
        report(self.request.node.name, self.mode, **self.figures, **self.extra,
               test_wall_time_s=round(time.monotonic() - self.t0, 2),
               outcome="passed" if exc_type is None else f"failed: {first or exc_type.__name__}")
        return False


# --------------------------------------------------------------------------------------------
# processes


def model_server_children(ppid: int) -> set[int]:
    """Live model-server processes whose parent is `ppid` (a dedicated `guardrail serve`)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[-1].split()
        if len(rest) < 2 or int(rest[1]) != ppid:
            continue
        pid = int(entry)
        if support.pid_alive(pid):
            found.add(pid)
    return found


# --------------------------------------------------------------------------------------------
# load


@dataclass
class Rec:
    t0: float                 # monotonic start
    t1: float                 # monotonic end
    ok: bool
    code: str = ""            # error code (ClientError) or exception class name
    version: str | None = None
    pid: int | None = None
    variant: str | None = None


class Load:
    """`threads` workers invoking `endpoint` back to back (with a small think time)."""

    def __init__(self, rt, endpoint: str, *, threads: int = 3, think_s: float = 0.005):
        self.rt = rt
        self.endpoint = endpoint
        self.threads = threads
        self.think_s = think_s
        self.records: list[Rec] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._inflight = 0
        self._workers: list[threading.Thread] = []

    # -- control -------------------------------------------------------------------------

    def start(self) -> "Load":
        for i in range(self.threads):
            t = threading.Thread(target=self._run, name=f"load-{self.endpoint}-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._go.set()
        for t in self._workers:
            t.join(timeout=80)

    def pause(self, timeout: float = 10.0) -> None:
        """No new invocation starts; returns once none is in flight."""
        self._go.clear()
        support.wait_until(lambda: self.inflight() == 0, timeout=timeout, interval=0.01,
                           desc="in-flight invocations to finish")

    def resume(self) -> None:
        self._go.set()

    def inflight(self) -> int:
        with self._lock:
            return self._inflight

    def __enter__(self) -> "Load":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- worker --------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._go.wait()
            if self._stop.is_set():
                return
            with self._lock:
                self._inflight += 1
            t0 = time.monotonic()
            try:
                resp = self.rt.invoke_endpoint(EndpointName=self.endpoint, Body=b'{"x": 1}',
                                               ContentType="application/json")
                raw = resp["Body"].read()
                t1 = time.monotonic()
                try:
                    answer = json.loads(raw)
                    rec = Rec(t0, t1, True, version=answer.get("model_version"), pid=answer.get("pid"),
                              variant=resp.get("InvokedProductionVariant"))
                    if rec.pid is not None:
                        record_pid(rec.pid)
                except ValueError:
                    rec = Rec(t0, t1, False, code=f"non-JSON answer {raw[:60]!r}")
            except ClientError as exc:
                code, status, msg = error_parts(exc)
                rec = Rec(t0, time.monotonic(), False, code=f"{code} ({status}): {msg[:160]}")
            except (BotoCoreError, OSError) as exc:
                rec = Rec(t0, time.monotonic(), False, code=f"{type(exc).__name__}: {exc}"[:200])
            with self._lock:
                self._inflight -= 1
                self.records.append(rec)
            if self.think_s:
                time.sleep(self.think_s)

    # -- queries -------------------------------------------------------------------------

    def snapshot(self) -> list[Rec]:
        with self._lock:
            return list(self.records)

    def wait_successes(self, n: int, *, since: float | None = None, timeout: float = 30.0,
                       version: str | None = None) -> list[Rec]:
        """Wait until `n` successful calls started after `since` (optionally of `version`)."""
        since = since if since is not None else -1.0

        def enough():
            got = [r for r in self.snapshot() if r.ok and r.t0 >= since
                   and (version is None or r.version == version)]
            return got if len(got) >= n else None

        return support.wait_until(enough, timeout=timeout, interval=0.05,
                                  desc=f"{n} successful invocation(s) of {self.endpoint}"
                                       + (f" answered by {version}" if version else ""))

    def between(self, start: float = float("-inf"), end: float = float("inf")) -> list[Rec]:
        """Calls that *started* in [start, end)."""
        return [r for r in self.snapshot() if start <= r.t0 < end]

    def failures(self, start: float = float("-inf"), end: float = float("inf")) -> list[Rec]:
        return [r for r in self.between(start, end) if not r.ok]


def describe_failures(fails: list[Rec], origin: float, limit: int = 10) -> str:
    return "; ".join(f"+{r.t0 - origin:.2f}s {r.code}" for r in fails[:limit]) + (
        f" … ({len(fails)} in all)" if len(fails) > limit else "")


def v2_share(recs: Iterable[Rec], new_version: str = "v2") -> tuple[float, int]:
    ok = [r for r in recs if r.ok]
    if not ok:
        return 0.0, 0
    return sum(r.version == new_version for r in ok) / len(ok), len(ok)


# --------------------------------------------------------------------------------------------
# DescribeEndpoint poller


@dataclass
class Snap:
    t: float          # monotonic
    wall: float       # time.time()
    desc: dict | None
    error: str | None = None

    @property
    def status(self) -> str | None:
        return self.desc["EndpointStatus"] if self.desc else None

    def pending_variants(self) -> list[dict]:
        if not self.desc:
            return []
        return self.desc.get("PendingDeploymentSummary", {}).get("ProductionVariants", []) or []

    def pending_statuses(self) -> list[tuple[str, str | None]]:
        out = []
        for pv in self.pending_variants():
            for vs in pv.get("VariantStatus", []) or []:
                out.append((vs.get("Status"), vs.get("StatusMessage")))
        return out

    def blue_statuses(self) -> list[tuple[str, str | None]]:
        out = []
        for pv in (self.desc or {}).get("ProductionVariants", []) or []:
            for vs in pv.get("VariantStatus", []) or []:
                out.append((vs.get("Status"), vs.get("StatusMessage")))
        return out

    def green_share(self) -> float | None:
        pvs = self.pending_variants()
        desired = sum(pv.get("DesiredWeight", 0.0) for pv in pvs)
        if not pvs or desired <= 0:
            return None
        return sum(pv.get("CurrentWeight", 0.0) for pv in pvs) / desired

    def blue_share(self) -> float | None:
        pvs = (self.desc or {}).get("ProductionVariants", []) or []
        desired = sum(pv.get("DesiredWeight", 0.0) for pv in pvs)
        if not pvs or desired <= 0:
            return None
        return sum(pv.get("CurrentWeight", 0.0) for pv in pvs) / desired


class Watcher:
    """Polls DescribeEndpoint every 0.2 s until the endpoint leaves `Updating` (or stop())."""

    def __init__(self, sm, endpoint: str, *, interval: float = WATCH_POLL_S,
                 stop_when_not_updating: bool = True):
        self.sm = sm
        self.endpoint = endpoint
        self.interval = interval
        self.stop_when_not_updating = stop_when_not_updating
        self.snaps: list[Snap] = []
        self.done = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"watch-{endpoint}", daemon=True)

    def start(self) -> "Watcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                t, wall = time.monotonic(), time.time()
                try:
                    desc = self.sm.describe_endpoint(EndpointName=self.endpoint)
                    snap = Snap(t, wall, desc)
                except ClientError as exc:
                    snap = Snap(t, wall, None, error="{} ({}): {}".format(*error_parts(exc)))
                except (BotoCoreError, OSError) as exc:
                    snap = Snap(t, wall, None, error=f"{type(exc).__name__}: {exc}")
                with self._lock:
                    self.snaps.append(snap)
                if snap.desc is None and snap.error and "Could not find endpoint" in snap.error:
                    return
                if self.stop_when_not_updating and snap.status not in (None, "Updating"):
                    return
                self._stop.wait(self.interval)
        finally:
            self.done.set()

    def snapshot(self) -> list[Snap]:
        with self._lock:
            return list(self.snaps)

    def updating(self) -> list[Snap]:
        return [s for s in self.snapshot() if s.status == "Updating"]

    def last(self) -> Snap | None:
        snaps = self.snapshot()
        return snaps[-1] if snaps else None

    def wait_done(self, timeout: float) -> Snap:
        if not self.done.wait(timeout):
            last = self.last()
            raise AssertionError(
                f"endpoint {self.endpoint} still {last.status if last else '?'} after {timeout:.0f}s; "
                f"pending statuses so far: {sorted(self.pending_statuses_seen())}")
        last = self.last()
        assert last is not None
        return last

    def wait_for(self, predicate, *, timeout: float, desc: str) -> Snap:
        """Wait until some snapshot satisfies predicate(snap); returns it."""
        def found():
            for s in self.snapshot():
                if s.desc and predicate(s):
                    return s
            return None
        return support.wait_until(found, timeout=timeout, interval=0.05, desc=desc)

    def pending_statuses_seen(self) -> set[str]:
        return {st for s in self.updating() for st, _ in s.pending_statuses()}

    def pending_messages_seen(self) -> set[str]:
        return {msg for s in self.updating() for _, msg in s.pending_statuses() if msg}

    def blue_statuses_seen(self) -> set[str]:
        return {st for s in self.updating() for st, _ in s.blue_statuses()}

    def blue_messages_seen(self) -> set[str]:
        return {msg for s in self.updating() for _, msg in s.blue_statuses() if msg}

    def baking_shares(self) -> list[float]:
        """Green shares (rounded) seen while the pending variant was `Baking`, in order."""
        out: list[float] = []
        for s in self.updating():
            if any(st == "Baking" for st, _ in s.pending_statuses()):
                share = s.green_share()
                if share is not None:
                    r = round(share, 4)
                    if not out or out[-1] != r:
                        out.append(r)
        return out

    def share_intervals(self) -> dict[float, tuple[float, float]]:
        """For each green share seen while Baking: (first, last) monotonic time it was seen."""
        out: dict[float, tuple[float, float]] = {}
        for s in self.updating():
            if any(st == "Baking" for st, _ in s.pending_statuses()):
                share = s.green_share()
                if share is None:
                    continue
                r = round(share, 4)
                lo, hi = out.get(r, (s.t, s.t))
                out[r] = (min(lo, s.t), max(hi, s.t))
        return out


# --------------------------------------------------------------------------------------------
# one update under load


def fleet_of(config_desc: dict) -> list[dict]:
    """The variants of a DescribeEndpointConfig answer, with default weight 1.0 filled in."""
    out = []
    for v in config_desc["ProductionVariants"]:
        out.append({"VariantName": v["VariantName"], "Weight": float(v.get("InitialVariantWeight", 1.0)),
                    "Count": int(v["InitialInstanceCount"]), "InstanceType": v.get("InstanceType")})
    return out


def fleets(sm, old_cfg: str, new_cfg: str) -> tuple[list[dict], list[dict]]:
    """(old, new) fleets of two endpoint configs, as fleet_of() gives them."""
    return (fleet_of(sm.describe_endpoint_config(EndpointConfigName=old_cfg)),
            fleet_of(sm.describe_endpoint_config(EndpointConfigName=new_cfg)))


def close(a: float, b: float, eps: float = 1e-6) -> bool:
    return abs(a - b) <= eps


@dataclass
class Deployment:
    """An UpdateEndpoint run under continuous load, observed from acceptance to its outcome."""

    sm: Any
    rt: Any
    endpoint: str
    new_config: str
    update_kwargs: dict = field(default_factory=dict)
    threads: int = 3
    mode: str = ""
    new_version: str = "v2"   # model_version answered by the new config (for the figures)
    # filled in by start()/finish()
    load: Load | None = None
    watcher: Watcher | None = None
    before: dict | None = None
    after_accept: dict | None = None
    t_load: float = 0.0
    t_accept0: float = 0.0
    t_accept: float = 0.0
    wall_accept0: float = 0.0
    wall_accept: float = 0.0
    t_done: float = 0.0
    final: dict | None = None
    old_pids: set[int] = field(default_factory=set)
    response: dict | None = None

    load_class = Load   # RbDeployment drives an RbLoad instead

    def start(self, *, warmup: int = 30) -> "Deployment":
        self.load = self.load_class(self.rt, self.endpoint, threads=self.threads).start()
        self.t_load = time.monotonic()
        warm = self.load.wait_successes(warmup, timeout=30)
        self.old_pids = {r.pid for r in warm if r.pid is not None}
        self.before = self.sm.describe_endpoint(EndpointName=self.endpoint)
        assert self.before["EndpointStatus"] == "InService", self.before["EndpointStatus"]
        self.t_accept0, self.wall_accept0 = time.monotonic(), time.time()
        self.response = self.sm.update_endpoint(EndpointName=self.endpoint, EndpointConfigName=self.new_config,
                                                **self.update_kwargs)
        self.t_accept, self.wall_accept = time.monotonic(), time.time()
        # "status Updating immediately (before the response is sent)"
        self.after_accept = self.sm.describe_endpoint(EndpointName=self.endpoint)
        self.watcher = Watcher(self.sm, self.endpoint).start()
        return self

    def finish(self, *, timeout: float = 60.0, tail_successes: int = 40) -> dict:
        """Wait for the outcome, keep the load running for `tail_successes` more calls, stop it."""
        assert self.watcher is not None and self.load is not None
        try:
            last = self.watcher.wait_done(timeout)
            self.t_done = last.t
            self.final = last.desc
            if self.final is not None and self.final["EndpointStatus"] == "InService":
                self.load.wait_successes(tail_successes, since=time.monotonic(), timeout=30)
        finally:
            self.load.stop()
            self.watcher.stop()
        return self.final or {}

    def abort(self) -> None:
        if self.load:
            self.load.stop()
        if self.watcher:
            self.watcher.stop()

    # -- figures -------------------------------------------------------------------------

    def during(self) -> list[Rec]:
        return self.load.between(self.t_accept0, self.t_done)

    def figures(self) -> dict:
        recs = self.load.snapshot()
        during = self.during()
        return {
            "invocations_total": len(recs),
            "invocations_during_update": len(during),
            "failures_total": sum(not r.ok for r in recs),
            "failures_during_update": sum(not r.ok for r in during),
            "wall_time_s": round(self.t_done - self.t_accept0, 2),
            "new_version_share_during_update": round(v2_share(during, self.new_version)[0], 3),
            "pending_statuses": sorted(self.watcher.pending_statuses_seen()),
            "blue_statuses": sorted(self.watcher.blue_statuses_seen()),
            "baking_shares": self.watcher.baking_shares(),
            "describe_polls": len(self.watcher.snapshot()),
            "final_status": (self.final or {}).get("EndpointStatus"),
        }

    # -- checks --------------------------------------------------------------------------

    def assert_no_failures(self, *, end: float | None = None) -> None:
        fails = self.load.failures(end=end if end is not None else float("inf"))
        assert not fails, (f"{len(fails)} failed invocation(s) of {len(self.load.snapshot())}: "
                           + describe_failures(fails, self.t_accept0))

    def assert_accept_state(self, *, old_config: str, sent_dc: dict | None) -> None:
        """Right after the response: Updating, new config name, LastModifiedTime bumped (docs/deployments.md#life-of-an-update, docs/deployments.md#describeendpoint-during-an-update)."""
        assert support.strip_meta(self.response) == {"EndpointArn": support.endpoint_arn(self.endpoint)}
        d = self.after_accept
        assert d["EndpointStatus"] == "Updating", (
            f"UpdateEndpoint answered but DescribeEndpoint says {d['EndpointStatus']} (must be Updating "
            f"before the response is sent); FailureReason={d.get('FailureReason')!r}")
        assert d["EndpointConfigName"] == self.new_config, (
            f"EndpointConfigName during the update must be the new config: {d['EndpointConfigName']!r}")
        assert d["LastModifiedTime"] > self.before["LastModifiedTime"], "LastModifiedTime not bumped at acceptance"
        assert "FailureReason" not in d, f"FailureReason must be cleared at acceptance: {d.get('FailureReason')!r}"
        if sent_dc is not None:
            assert d.get("LastDeploymentConfig") == sent_dc

    def check_snapshots(self, *, old: list[dict], new: list[dict], sent_dc: dict | None,
                        old_image: str = "model:v1", allowed_blue: Iterable[str] = ("Deleting",),
                        allowed_pending: Iterable[str] = VARIANT_STATUSES,
                        rollback: bool = False) -> None:
        """docs/deployments.md#describeendpoint-during-an-update for every snapshot taken while Updating."""
        snaps = self.watcher.updating()
        assert snaps, "no DescribeEndpoint snapshot showed Updating"
        old_names = [v["VariantName"] for v in old]
        new_names = [v["VariantName"] for v in new]
        allowed_blue = set(allowed_blue)
        allowed_pending = set(allowed_pending)
        for s in snaps:
            d = s.desc
            at = f"snapshot at +{s.t - self.t_accept0:.2f}s"
            assert d["EndpointConfigName"] == self.new_config, f"{at}: EndpointConfigName {d['EndpointConfigName']!r}"
            if sent_dc is not None:
                assert d.get("LastDeploymentConfig") == sent_dc, f"{at}: LastDeploymentConfig {d.get('LastDeploymentConfig')!r}"
            if not rollback:
                assert "FailureReason" not in d, f"{at}: FailureReason during a healthy update: {d.get('FailureReason')!r}"
            # top level = blue
            blue = d["ProductionVariants"]
            assert [v["VariantName"] for v in blue] == old_names, f"{at}: top-level variants {blue!r}"
            for v, o in zip(blue, old):
                assert close(v["DesiredWeight"], o["Weight"]), f"{at}: blue DesiredWeight {v!r}"
                assert v["DesiredInstanceCount"] == o["Count"], f"{at}: blue DesiredInstanceCount {v!r}"
                assert 0 <= v["CurrentInstanceCount"] <= o["Count"], f"{at}: blue CurrentInstanceCount {v!r}"
                assert -1e-9 <= v["CurrentWeight"] <= o["Weight"] + 1e-9, f"{at}: blue CurrentWeight {v!r}"
                assert [i["SpecifiedImage"] for i in v.get("DeployedImages", [])] == [old_image], \
                    f"{at}: blue DeployedImages {v.get('DeployedImages')!r}"
                for vs in v.get("VariantStatus", []) or []:
                    assert vs["Status"] in allowed_blue, f"{at}: blue VariantStatus {vs!r}"
            # pending = green
            pds = d.get("PendingDeploymentSummary")
            assert pds, f"{at}: no PendingDeploymentSummary while Updating"
            assert pds["EndpointConfigName"] == self.new_config, f"{at}: pending config {pds['EndpointConfigName']!r}"
            st = pds.get("StartTime")
            assert isinstance(st, dt.datetime), f"{at}: pending StartTime {st!r}"
            assert self.wall_accept0 - 2 <= st.timestamp() <= self.wall_accept + 2, (
                f"{at}: pending StartTime {st.isoformat()} is not the acceptance time")
            green = pds["ProductionVariants"]
            assert [v["VariantName"] for v in green] == new_names, f"{at}: pending variants {green!r}"
            for v, n in zip(green, new):
                assert v.get("InstanceType") == n["InstanceType"], f"{at}: pending InstanceType {v!r}"
                assert close(v["DesiredWeight"], n["Weight"]), f"{at}: pending DesiredWeight {v!r}"
                assert v["DesiredInstanceCount"] == n["Count"], f"{at}: pending DesiredInstanceCount {v!r}"
                assert 0 <= v["CurrentInstanceCount"] <= n["Count"], f"{at}: pending CurrentInstanceCount {v!r}"
                assert -1e-9 <= v["CurrentWeight"] <= n["Weight"] + 1e-9, f"{at}: pending CurrentWeight {v!r}"
                statuses = v.get("VariantStatus", []) or []
                # the current phase is shown on green, except while blue is torn down (or traffic
                # returns to blue in a rollback), where it is on the top-level variant (docs/deployments.md#canary, docs/deployments.md#describeendpoint-during-an-update)
                blue_phase = any(b.get("VariantStatus") for b in blue)
                assert (0 if blue_phase else 1) <= len(statuses) <= 5, (
                    f"{at}: pending VariantStatus must hold 1–5 entries (the current phase): {statuses!r}; "
                    f"pending {v!r}; blue {blue!r}")
                for vs in statuses:
                    assert vs["Status"] in allowed_pending, f"{at}: pending VariantStatus {vs!r}"
            # blue share + green share = 1 (each variant's traffic is split between the fleets)
            bs, gs = s.blue_share(), s.green_share()
            if bs is not None and gs is not None:
                assert abs(bs + gs - 1.0) < 1e-3, f"{at}: blue share {bs} + green share {gs} != 1"

    def assert_shares_monotonic(self) -> None:
        """Green share never falls during a healthy update."""
        prev = -1.0
        for s in self.watcher.updating():
            g = s.green_share()
            if g is None:
                continue
            assert g >= prev - 1e-6, f"green share fell from {prev} to {g} at +{s.t - self.t_accept0:.2f}s"
            prev = g

    def assert_success(self, *, new: list[dict], sent_dc: dict | None, new_image: str = "model:v2") -> dict:
        """docs/deployments.md#outcomes/#describeendpoint-during-an-update after success."""
        d = self.final
        assert d is not None, "endpoint vanished"
        assert d["EndpointStatus"] == "InService", (
            f"update ended {d['EndpointStatus']} (want InService); FailureReason={d.get('FailureReason')!r}")
        assert d["EndpointConfigName"] == self.new_config
        assert "PendingDeploymentSummary" not in d, f"pending summary after success: {d['PendingDeploymentSummary']!r}"
        assert "FailureReason" not in d, f"FailureReason after success: {d['FailureReason']!r}"
        if sent_dc is not None:
            assert d.get("LastDeploymentConfig") == sent_dc
        pvs = d["ProductionVariants"]
        assert [v["VariantName"] for v in pvs] == [n["VariantName"] for n in new]
        for v, n in zip(pvs, new):
            assert close(v["CurrentWeight"], n["Weight"]) and close(v["DesiredWeight"], n["Weight"]), v
            assert (v["CurrentInstanceCount"], v["DesiredInstanceCount"]) == (n["Count"], n["Count"]), v
            assert "VariantStatus" not in v, f"VariantStatus outside an update: {v['VariantStatus']!r}"
            assert [i["SpecifiedImage"] for i in v.get("DeployedImages", [])] == [new_image], v.get("DeployedImages")
        return d

    def assert_version_sequence(self, *, gradual: bool, old_version: str = "v1",
                                new_version: str = "v2") -> dict:
        """v1 only before acceptance → (mixed) → v2 only once InService was observed."""
        recs = self.load.snapshot()
        before = [r for r in recs if r.ok and r.t1 <= self.t_accept0]
        assert before and all(r.version == old_version for r in before), \
            f"before the update: versions {sorted({r.version for r in before})}"
        after = [r for r in recs if r.t0 >= self.t_done]
        assert len(after) >= 20, f"only {len(after)} invocation(s) after InService"
        wrong = [r for r in after if r.ok and r.version != new_version]
        assert not wrong, (f"{len(wrong)} of {len(after)} answer(s) after InService came from "
                           f"{sorted({r.version for r in wrong})}")
        during = [r for r in recs if r.ok and self.t_accept0 <= r.t0 < self.t_done]
        versions = {r.version for r in during}
        info: dict[str, Any] = {"versions_during": sorted(v for v in versions if v)}
        if gradual:
            assert {old_version, new_version} <= versions, (
                f"a gradual update must serve both versions meanwhile; saw {sorted(versions)}")
            # v2 share per quarter of the update window: roughly rising
            span = self.t_done - self.t_accept0
            bins = []
            for i in range(4):
                lo, hi = self.t_accept0 + span * i / 4, self.t_accept0 + span * (i + 1) / 4
                share, n = v2_share(r for r in during if lo <= r.t0 < hi)
                bins.append((round(share, 3), n))
            info["v2_share_by_quarter"] = bins
            shares = [s for s, n in bins if n >= 20]
            for i in range(len(shares)):
                for j in range(i + 1, len(shares)):
                    assert shares[j] >= shares[i] - 0.2, f"v2 share not rising over the update: {bins}"
            assert shares and shares[-1] > shares[0], f"v2 share not rising over the update: {bins}"
        else:
            # one atomic switch: once a v2 answer arrived, every call started later is v2
            first_v2 = min((r.t1 for r in during if r.version == new_version), default=None)
            if first_v2 is not None:
                late_v1 = [r for r in during if r.t0 > first_v2 and r.version != new_version]
                assert not late_v1, (f"{len(late_v1)} call(s) answered by {old_version} although started after "
                                     f"the first {new_version} answer (the switch must be atomic)")
        return info

    def assert_step_shares(self, expected: list[float], *, tol: float = 0.2, new_version: str = "v2") -> dict:
        """Each expected green share was seen while Baking, in order; the v2 fraction of calls
        started while it was shown is close to it."""
        seen = self.watcher.baking_shares()
        for f in expected:
            assert any(abs(f - s) < 1e-3 for s in seen), (
                f"green share {f} never seen while Baking; seen {seen} (expected {expected})")
        seen_expected = [s for s in seen if any(abs(f - s) < 1e-3 for f in expected)]
        assert seen_expected == sorted(seen_expected), f"green shares out of order while Baking: {seen}"
        stray = [s for s in seen if not any(abs(f - s) < 1e-3 for f in expected)]
        assert not stray, f"unexpected green share(s) {stray} while Baking (plan {expected}); seen {seen}"
        measured = {}
        for f, (lo, hi) in self.watcher.share_intervals().items():
            share, n = v2_share(self.load.between(lo, hi), new_version)
            measured[f] = (round(share, 3), n)
            if n >= 40 and hi - lo >= 0.4:
                sigma = (f * (1 - f) / n) ** 0.5
                assert abs(share - f) <= max(tol, 4 * sigma), (
                    f"while green share {f} was shown, {share:.2f} of {n} calls were answered by {new_version}")
        return {"measured_v2_share_by_step": {str(k): v for k, v in measured.items()}}


def seconds_re(n: int) -> str:
    return rf"{n} seconds?"


def match_any(pattern: str, messages: Iterable[str]) -> bool:
    return any(re.fullmatch(pattern, m) for m in messages)
