"""The benchmark's own arithmetic: its numbers go into notes and decisions."""

import os
import subprocess
import sys
import time

from bench.run import cpu_seconds, database_cpu_delta


def test_database_cpu_counts_survivors_and_newcomers_and_never_goes_negative():
    before = {10: 5.0, 11: 100.0, 12: 1.0}  # 11 is an autovacuum worker that then exits
    after = {10: 5.5, 12: 1.25, 13: 0.75}  # 13 started in between
    assert database_cpu_delta(before, after) == 0.5 + 0.25 + 0.75
    assert database_cpu_delta(before, {}) == 0.0
    # A pid reused by a new process reads less than the old one did: the new one counts whole.
    assert database_cpu_delta({10: 5.0}, {10: 0.5}) == 0.5


def test_cpu_seconds_reads_a_process_that_spends_time_and_none_for_a_gone_one():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\n"
            "while time.process_time() - t < 0.3: pass\nimport sys; sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while (cpu_seconds(child.pid) or 0.0) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cpu_seconds(child.pid) >= 0.25
    finally:
        child.communicate(b"")
    assert cpu_seconds(child.pid) is None
    assert cpu_seconds(os.getpid()) > 0
