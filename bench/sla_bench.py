"""SLA deadline benchmark: our business calendar against pandas CustomBusinessHour.

    python bench/sla_bench.py [--n 20000] [--seed 42]

One run, same seeded inputs for every contender: random aware instants in
Europe/Paris over 2025-2027 (to the second, so nights, weekends and French public
holidays occur naturally) plus forced starts exactly at 09:00, 13:30, 15:30 and
17:30 and inside holidays; each input gets +2 h and +4 h of business time.
Prints rates, memory of a century-long calendar, and every disagreement with pandas.
"""

from __future__ import annotations

import os

# One core: set before numpy is imported (searchsorted is single-threaded anyway).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402
from datetime import time as dtime
from zoneinfo import ZoneInfo  # noqa: E402

import holidays  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from unisupport.sla.calendar import Calendar, epoch_seconds  # noqa: E402

ZONE = ZoneInfo("Europe/Paris")
OPEN, CLOSE = dtime(9, 0), dtime(17, 30)
HOURS = (2, 4)  # business hours added to every input
PANDAS_BUDGET_S = 180  # above this (estimated), pandas runs on a seeded subset
SUBSET = 4000
HOL = set(holidays.France(years=range(2024, 2029)))  # a late-2027 input may end in 2028


def make_inputs(n: int, rng: np.random.Generator) -> list[datetime]:
    """Aware Paris instants; about 70 % uniform, the rest on tricky boundaries."""
    lo = int(datetime(2025, 1, 1, tzinfo=ZONE).timestamp())
    hi = int(datetime(2028, 1, 1, tzinfo=ZONE).timestamp())
    days = [date(2025, 1, 1) + timedelta(d) for d in range((date(2028, 1, 1) - date(2025, 1, 1)).days)]
    hol = sorted(d for d in HOL if 2025 <= d.year <= 2027)
    k = n // 20  # 5 % per forced category
    out = [int(t) for t in rng.integers(lo, hi, n - 5 * k)]
    for hh, mm in ((9, 0), (13, 30), (15, 30), (17, 30)):  # 13:30/15:30 + 4/2 h end at 17:30
        out += [int(datetime.combine(days[i], dtime(hh, mm), ZONE).timestamp()) for i in rng.integers(0, len(days), k)]
    for i in rng.integers(0, len(hol), k):  # any second of a public holiday
        a = int(datetime.combine(hol[i], dtime(), ZONE).timestamp())
        b = int(datetime.combine(hol[i] + timedelta(1), dtime(), ZONE).timestamp())
        out.append(int(rng.integers(a, b)))
    rng.shuffle(out)
    return [datetime.fromtimestamp(t, ZONE) for t in out]


def is_open(t: datetime) -> bool:
    return t.weekday() < 5 and t.date() not in HOL and OPEN <= t.time() < CLOSE


def oracle(start: datetime, seconds: int) -> datetime:
    """Independent hand count on naive wall-clock: walk second by second, or a whole
    minute at a time when on a minute boundary (windows are minute-aligned, so a
    minute is entirely open or closed). Paris hours never straddle a DST change, so
    wall-clock seconds of open time equal real ones. Returns the earliest instant at
    which ``seconds`` of open time have elapsed."""
    t, left = start, seconds
    while left:
        op = is_open(t)
        step = 60 if t.second == 0 and (not op or left >= 60) else 1
        left -= step if op else 0
        t += timedelta(seconds=step)
    return t


def next_business_opening(day: date) -> datetime:
    day += timedelta(1)
    while day.weekday() >= 5 or day in HOL:
        day += timedelta(1)
    return datetime.combine(day, OPEN)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def century_memory(sample: np.ndarray) -> tuple[float, float, float]:
    """(expand seconds best of 3, MB retained after expand(1950, 2049), MB with arrays)."""

    def expand_once() -> None:
        Calendar.for_country("FR", "Europe/Paris").expand(1950, 2049)

    took = best_of(expand_once, 3)  # timed without tracemalloc, which slows allocation
    tracemalloc.start()
    cal = Calendar.for_country("FR", "Europe/Paris")  # a fresh calendar, kept referenced
    gc.collect()
    s0 = tracemalloc.take_snapshot()
    cal.expand(1950, 2049)
    gc.collect()
    s1 = tracemalloc.take_snapshot()
    cal.add_business_seconds_batch(sample, 7200)  # builds the _np() arrays
    gc.collect()
    s2 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    mb = lambda a, b: sum(s.size_diff for s in b.compare_to(a, "filename")) / 2**20  # noqa: E731
    assert cal.expanded_years == (1950, 2049)
    return took, mb(s0, s1), mb(s0, s2)


def time_ours(cal: Calendar, starts: list[datetime]) -> dict:
    """1. Scalar, after a warm-up (lazy expansion, caches); 2. batch, with the
    datetime -> epoch conversion done OUTSIDE the timing."""
    for s in starts[:200]:
        cal.add_business_minutes(s, 240)

    def scalar() -> list[list[datetime]]:
        add = cal.add_business_minutes
        return [[add(s, h * 60) for s in starts] for h in HOURS]

    ours = scalar()
    t_scalar = best_of(scalar, 3)
    ep = np.fromiter((epoch_seconds(s) for s in starts), dtype=np.int64, count=len(starts))
    ep_all = np.concatenate([ep] * len(HOURS))
    secs_all = np.repeat(np.array([h * 3600 for h in HOURS], dtype=np.int64), len(ep))
    batch = cal.add_business_seconds_batch(ep_all, secs_all)  # warm-up
    t_batch = best_of(lambda: cal.add_business_seconds_batch(ep_all, secs_all), 7)
    scalar_ep = np.array([epoch_seconds(d) for row in ours for d in row], dtype=np.int64)
    return {
        "ours": ours,
        "t_scalar": t_scalar,
        "t_batch": t_batch,
        "ep": ep,
        "batch_vs_scalar": int((scalar_ep != batch).sum()),
    }


def time_pandas(starts: list[datetime], seed: int) -> dict:
    """3. pandas, on naive local wall-clock timestamps (its offsets ignore time zones);
    on a seeded subset when all inputs would take too long."""
    offs = {
        h: pd.offsets.CustomBusinessHour(
            n=h, start="09:00", end="17:30", holidays=sorted(HOL), weekmask="Mon Tue Wed Thu Fri"
        )
        for h in HOURS
    }
    assert offs[4].start == (OPEN,) and offs[4].end == (CLOSE,), "pandas cannot express 17:30"
    naive = [pd.Timestamp(s.replace(tzinfo=None)) for s in starts]
    for ts in naive[:100]:  # warm-up
        ts + offs[4]
    probe = naive[100:400]
    t0 = time.perf_counter()
    for h in HOURS:
        for ts in probe:
            ts + offs[h]
    est = (time.perf_counter() - t0) * len(naive) / len(probe)
    idx = np.arange(len(naive))
    if est > PANDAS_BUDGET_S:
        idx = np.sort(np.random.default_rng(seed + 1).choice(len(naive), SUBSET, replace=False))
        print(
            f"NOTE: pandas estimated {est:.0f} s on all inputs; timed and compared on a seeded "
            f"subset of {SUBSET} inputs ({SUBSET * len(HOURS)} deadlines). Ours runs on all."
        )
    sub = [naive[i] for i in idx]

    def pandas_run() -> list[list[pd.Timestamp]]:
        return [[ts + offs[h] for ts in sub] for h in HOURS]

    return {"theirs": pandas_run(), "t_pandas": best_of(pandas_run, 3), "idx": idx, "n_pd": len(sub) * len(HOURS)}


def disagreements(starts: list[datetime], ours: list[list[datetime]], theirs, idx) -> tuple[list, list]:
    """5. Where pandas and ours differ, in local wall-clock: (a) pandas moving a
    deadline at closing time to the next opening, (b) anything else."""
    closing, other = [], []
    for k, h in enumerate(HOURS):
        for j, i in enumerate(idx):
            o = ours[k][i].replace(tzinfo=None)
            p = theirs[k][j].to_pydatetime()
            if o == p:
                continue
            if o.time() == CLOSE and p == next_business_opening(o.date()):
                closing.append((starts[i], h, o, p))
            else:
                other.append((starts[i], h, o, p))
    return closing, other


def hand_check(starts: list[datetime], ours: list[list[datetime]], closing: list, seed: int) -> tuple[int, list, int]:
    """Independent hand count: a sample of the (a) cases and 300 random inputs."""
    checked_a = 0
    for s, h, o, _ in closing[:: max(1, len(closing) // 200)]:
        checked_a += 1
        assert oracle(s.replace(tzinfo=None), h * 3600) == o, (s, h, o)
    sample = np.random.default_rng(seed + 2).choice(len(starts), 300, replace=False)
    oracle_bad = [
        (starts[i], h, ours[k][i])
        for i in sample
        for k, h in enumerate(HOURS)
        if oracle(starts[i].replace(tzinfo=None), h * 3600) != ours[k][i].replace(tzinfo=None)
    ]
    return checked_a, oracle_bad, len(sample)


def print_table(rows: list[tuple]) -> None:
    head = ("metric", "ours", "pandas", "ratio/target", "verdict")
    w = [max(len(str(r[c])) for r in rows + [head]) for c in range(4)]
    print(" | ".join(head[c].ljust(w[c]) for c in range(4)) + " | verdict")
    print("-+-".join("-" * x for x in w) + "-+--------")
    for r in rows:
        verdict = "info" if r[4] is None else ("PASS" if r[4] else "FAIL")
        print(" | ".join(str(r[c]).ljust(w[c]) for c in range(4)) + " | " + verdict)


def print_cases(closing: list, other: list, oracle_bad: list, checked_a: int) -> None:
    """The first disagreements of each kind, every (b) case with its hand count."""
    print(
        f"\n(a) hand-checked {checked_a} of {len(closing)} closing cases: ours (17:30 same day) is the "
        f"earliest instant the target is met; pandas moves it to the next opening."
    )
    for s, h, o, p in closing[:3]:
        print(f"    (a) {s.isoformat()} +{h}h: ours {o} | pandas {p}")
    sides: dict[str, int] = {}
    for n_b, (s, h, o, p) in enumerate(other):  # every (b) case is hand-counted
        hand = oracle(s.replace(tzinfo=None), h * 3600)
        side = "ours" if hand == o else "pandas" if hand == p else "neither"
        sides[side] = sides.get(side, 0) + 1
        if n_b < 10:
            print(f"    (b) {s.isoformat()} +{h}h: ours {o} | pandas {p} | hand count {hand} -> {side} right")
    if other:
        print(f"(b) hand count agrees with: {sides}")
    for s, h, o in oracle_bad[:10]:
        print(
            f"    OURS WRONG? {s.isoformat()} +{h}h: ours {o} | hand count {oracle(s.replace(tzinfo=None), h * 3600)}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    print(f"command: {sys.executable} {' '.join(sys.argv)}")
    print(
        f"python {platform.python_version()} | numpy {np.__version__} | pandas {pd.__version__} | "
        f"holidays {holidays.__version__} | {platform.machine()} | OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    )

    rng = np.random.default_rng(args.seed)
    starts = make_inputs(args.n, rng)
    n_dl = len(starts) * len(HOURS)
    cal = Calendar.for_country("FR", "Europe/Paris")
    mine = time_ours(cal, starts)
    ours, t_scalar, t_batch, batch_vs_scalar = mine["ours"], mine["t_scalar"], mine["t_batch"], mine["batch_vs_scalar"]
    pandas_side = time_pandas(starts, args.seed)
    t_pandas, n_pd = pandas_side["t_pandas"], pandas_side["n_pd"]
    closing, other = disagreements(starts, ours, pandas_side["theirs"], pandas_side["idx"])
    checked_a, oracle_bad, sampled = hand_check(starts, ours, closing, args.seed)

    # 6. Memory and expansion time of a century.
    t_exp, mb_lists, mb_all = century_memory(mine["ep"][:16])

    r_s, r_b, r_p = n_dl / t_scalar, n_dl / t_batch, n_pd / t_pandas
    rows = [
        ("scalar deadlines/s", f"{r_s:,.0f}", f"{r_p:,.0f}", f"{r_s / r_p:.1f}x (target >= 20x)", r_s / r_p >= 20),
        ("batch deadlines/s", f"{r_b:,.0f}", f"{r_p:,.0f}", f"{r_b / r_p:,.0f}x; target >= 1,000,000/s", r_b >= 1e6),
        ("century expand 1950-2049 s", f"{t_exp:.3f}", "-", "info (best of 3)", None),
        ("century memory, lists MB", f"{mb_lists:.2f}", "-", "target <= 20 MB", mb_lists <= 20),
        ("century memory, +arrays MB", f"{mb_all:.2f}", "-", "target <= 20 MB", mb_all <= 20),
        ("(a) pandas 09:00 next vs ours 17:30", f"{len(closing)}", f"of {n_pd}", "known pandas convention", None),
        ("(b) other disagreements", f"{len(other)}", f"of {n_pd}", "expect 0", not other),
        ("ours vs hand count (sample)", f"{len(oracle_bad)} bad", f"of {sampled * 2}", "expect 0", not oracle_bad),
        ("scalar vs batch mismatches", f"{batch_vs_scalar}", f"of {n_dl}", "expect 0", batch_vs_scalar == 0),
    ]
    print(
        f"\ninputs: {len(starts)} (seed {args.seed}) x {HOURS} business hours = {n_dl} deadlines; "
        f"pandas on {n_pd} deadlines"
    )
    print(
        f"timings (best of 3/7/3): scalar {t_scalar:.3f} s | batch {t_batch * 1e3:.2f} ms (best of 7, epoch conversion "
        f"excluded) | pandas {t_pandas:.2f} s; each after a warm-up"
    )
    print_table(rows)
    print_cases(closing, other, oracle_bad, checked_a)


if __name__ == "__main__":
    main()
