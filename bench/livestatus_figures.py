"""Live status benchmark (bench/livestatus.py): the counting — each delivery matched to its change
by (subscriber, dossier version), the lost, duplicated and unexpected ones, and the latencies."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bench.livestatus_clients import APPS, SUBSCRIBERS, subscriber_plan


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def count(
    dossiers: list[dict[str, Any]], observed: dict[str, Any], results: list[dict[str, Any]], *,
    subscribed: int, opened_in: float, cpu: list[float], waited: list[float], others: list[float],
    window: float,
) -> dict[str, Any]:  # fmt: skip
    plan = subscriber_plan(len(dossiers))
    watchers: dict[int, list[int]] = defaultdict(list)
    for k, (d, _) in enumerate(plan):
        watchers[d].append(k)
    received: dict[tuple[int, int], list[float]] = defaultdict(list)
    errors: list[str] = []
    for r in results:
        for k, version, at in r["got"]:
            received[(k, version)].append(at)
        errors += r["errors"]
    changes = observed["changes"]
    ok = [c for c in changes if "version" in c]
    failed = [c for c in changes if "version" not in c]
    latest: dict[int, int] = defaultdict(int)
    for (k, version), _ in received.items():
        latest[k] = max(latest[k], version)
    from_commit: list[float] = []
    from_answer: list[float] = []
    from_send: list[float] = []
    expected = lost = superseded = duplicates = no_commit = 0
    for c in ok:
        dossier = dossiers[c["dossier"]]
        seen = [t for t in observed["commits"].get(dossier["id"], []) if t >= c["sent"]]
        commit = min(seen) if seen else None
        no_commit += commit is None
        for k in watchers[c["dossier"]]:
            expected += 1
            times = received.get((k, c["version"]))
            if not times:
                lost += 1
                superseded += latest[k] > c["version"]
                continue
            duplicates += len(times) - 1
            at = times[0]
            if commit is not None:
                from_commit.append((at - commit) * 1000)
            from_answer.append((at - c["answered"]) * 1000)
            from_send.append((at - c["sent"]) * 1000)
    versions = {(k, c["version"]) for c in ok for k in watchers[c["dossier"]]}
    unexpected = sum(len(v) for key, v in received.items() if key not in versions)
    mutation = [(c["answered"] - c["sent"]) * 1000 for c in ok]
    return {
        "subscribers": subscribed,
        "per_app": [sum(1 for _, app in plan if app == i) for i in range(APPS)],
        "wanted": SUBSCRIBERS,
        "dossiers": len(dossiers),
        "opened_in": opened_in,
        "changes": len(ok),
        "failed": len(failed),
        "first_failure": failed[0]["error"] if failed else None,
        "rate": len(ok) / (max(c["answered"] for c in ok) - min(c["sent"] for c in ok)) if ok else 0.0,
        "expected": expected,
        "received": expected - lost,
        "lost": lost,
        "superseded": superseded,
        "duplicates": duplicates,
        "unexpected": unexpected,
        "no_commit": no_commit,
        "errors": errors,
        "from_commit": from_commit,
        "from_answer": from_answer,
        "from_send": from_send,
        "mutation": mutation,
        "baseline": [x * 1000 for x in observed["baseline"]],
        "baseline_sent": observed["baseline_sent"],
        "cpu": cpu,
        "waited": waited,
        "others": others,
        "mutator_cpu": observed["mutator_cpu"],
        "window": window,
    }
