"""Fuzz: truncated and mutated EXR, DPX, PNG and session files thrown at ``info`` and ``colorize`` (issue 16).

Seeded random bytes, so a failure repeats. All cases run in one worker process (so the imports are paid once)
under a memory cap, a per-case alarm and an overall time budget. For every case the test asserts: no traceback
(only Kinochrome's own errors), an exit code of 0, 1 or 2 with a one-line error, no hang, memory under the cap,
the source files unchanged and no temp or lock file left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 16
CASES_PER_FORMAT = 20
BUDGET_S = 20            # the worker stops starting new cases after this long
CASE_ALARM_S = 30        # one case running longer than this is a hang
MEMORY_CAP = 6 << 30     # address space of the worker (torch alone maps about 2 GB of it)

WORKER = textwrap.dedent(r"""
    import hashlib, io, json, os, random, resource, signal, sys, time, traceback
    from contextlib import redirect_stderr, redirect_stdout
    sys.path.insert(0, sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[4]), int(sys.argv[4])))
    from conftest import write_sequence
    from kinochrome.core.cli import main

    folder, seed = sys.argv[2], int(sys.argv[3])
    per_format, budget, alarm = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
    rng = random.Random(seed)

    def mutate(data: bytes) -> bytes:
        data = bytearray(data)
        how = rng.choice(["truncate", "flip", "header", "splice", "zero"])
        if how == "truncate":
            return bytes(data[: rng.randrange(0, len(data))])
        if how == "flip":
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == "header":  # the first 400 bytes hold sizes, windows, offsets and channel lists
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(min(400, len(data)))] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        elif how == "splice":
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        else:
            at = rng.randrange(len(data))
            data[at: at + rng.randint(1, 256)] = b"\0" * 16
        return bytes(data)

    def digest(root):
        return {p: hashlib.sha256(open(os.path.join(d, p), "rb").read()).hexdigest()
                for d, _, names in os.walk(root) for p in names}

    cases = []
    for fmt in ("exr", "dpx", "png"):
        shot = write_sequence(os.path.join(folder, "seed_" + fmt), fmt, n=3, size=(40, 30))
        good = open(shot.replace("####", "1002"), "rb").read()
        for i in range(per_format):
            case = os.path.join(folder, f"{fmt}{i}")
            pattern = write_sequence(case, fmt, n=3, size=(40, 30))
            with open(pattern.replace("####", "1002"), "wb") as fh:
                fh.write(mutate(good))
            cases.append((f"{fmt}{i}", case, [
                ["info", pattern.replace("####", "1002")],
                ["info", pattern, "--json"],
                ["colorize", pattern, "-o", os.path.join(folder, "out", f"{fmt}{i}", "o.####." + fmt),
                 "--quiet", "--working-size", "64", "--on-error", "skip"],
            ]))
    seed_shot = write_sequence(os.path.join(folder, "session_shot"), "exr", n=2, size=(40, 30))
    good = json.dumps({"kinochrome_session": 1, "shot": {"path": seed_shot, "frames": [1001, 1002]},
                       "keyframes": [{"frame": 1001, "points": [{"x": 5, "y": 5, "colour": [1, 0, 0],
                                                                 "radius": 3}]}],
                       "settings": {"working_size": 64}}).encode()
    for i in range(per_format):
        case = os.path.join(folder, f"session{i}")
        os.makedirs(case)
        path = os.path.join(case, "s.kinochrome.json")
        with open(path, "wb") as fh:
            fh.write(mutate(good))
        cases.append((f"session{i}", case, [
            ["info", path],
            ["colorize", "--session", path, "-o", os.path.join(folder, "out", f"session{i}", "o.####.exr"),
             "--quiet"],
        ]))

    def on_alarm(signum, frame):
        raise TimeoutError("hang")

    signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    results = []
    for name, case, runs in cases:
        if time.monotonic() - started > budget:
            break
        before = digest(case)
        for argv in runs:
            out, err = io.StringIO(), io.StringIO()
            signal.alarm(alarm)
            t0 = time.monotonic()
            try:
                with redirect_stdout(out), redirect_stderr(err):
                    code = main(argv)
                problem = None
            except BaseException:  # noqa: BLE001 - anything escaping main() is the failure looked for
                code, problem = None, traceback.format_exc(limit=-6)
            finally:
                signal.alarm(0)
            results.append({"case": name, "argv": argv[0], "code": code, "problem": problem,
                            "stderr": err.getvalue()[-2000:], "seconds": time.monotonic() - t0})
        results.append({"case": name, "unchanged": digest(case) == before,
                        "debris": [p for d, _, names in os.walk(folder) for p in names
                                   if ".kino.tmp" in p or ".kino.lock" in p]})
    results.append({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "cases": len(cases),
                    "seconds": time.monotonic() - started})
    print(json.dumps(results))
""")


def test_fuzzed_frames_and_sessions(tmp_path):
    proc = subprocess.run([sys.executable, "-c", WORKER, str(ROOT / "tests"), str(tmp_path), str(SEED),
                           str(MEMORY_CAP), str(CASES_PER_FORMAT), str(BUDGET_S), str(CASE_ALARM_S)],
                          check=False, capture_output=True, text=True, timeout=BUDGET_S + 4 * CASE_ALARM_S + 60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    summary = results.pop()
    runs = [r for r in results if "argv" in r]
    checks = [r for r in results if "unchanged" in r]
    assert len(checks) >= 12, summary  # even a loaded machine covers this many within the budget
    for r in runs:
        assert r["problem"] is None, f"{r['case']} {r['argv']}:\n{r['problem']}"
        assert r["code"] in (0, 1, 2), r
        if r["code"]:
            errors = [line for line in r["stderr"].splitlines() if line.startswith("kinochrome: error:")]
            # one error line, or (--on-error skip) the run's summary naming the frames that failed
            assert len(errors) == 1 or (not errors and "  failed 1002: " in r["stderr"]), r
        assert "Traceback" not in r["stderr"], r
    for c in checks:
        assert c["unchanged"], c
        assert not c["debris"], c
    assert summary["maxrss_kb"] < 3_000_000, summary
    print(f"fuzz: {len(checks)} of {summary['cases']} cases, {len(runs)} runs in {summary['seconds']:.0f}s, "
          f"peak memory {summary['maxrss_kb'] / 1e6:.2f} GB, exit codes "
          f"{ {c: sum(r['code'] == c for r in runs) for c in (0, 1, 2)} }")
