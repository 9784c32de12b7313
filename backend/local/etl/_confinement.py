"""What of a pod's confinement this machine gives transformers, in words: said once when the
cluster starts and by ``cluster status``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from ._limits import Limits, make_cgroups
from ._sandbox import LAUNCHER, NOTE, Plan


def confinement_gaps() -> list[str]:
    """What a transformer here is not confined by (the first lines of a pod's log say the
    same for that pod)."""
    gaps: list[str] = []
    try:
        probe = Plan(network=True)
        run = subprocess.run([*LAUNCHER, probe.to_arg(), "--", sys.executable, "-c", "pass"],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        gaps.append(f"sandbox: could not be tried ({err})")
    else:
        gaps += [line.removeprefix(NOTE).strip() for line in run.stdout.splitlines()
                 if line.startswith(NOTE)]
        if run.returncode != 0:  # every pod would fail the same way
            said = run.stderr.strip().splitlines() or [f"exit code {run.returncode}"]
            gaps.append(f"sandbox: pods fail: {said[-1]}")
    if os.geteuid() != 0:
        gaps.append("user: transformers run as the cluster's owner (an unprivileged user "
                    "needs the cluster to run as root)")
    cgroups = make_cgroups(f"probe-{secrets.token_hex(4)}", Limits(memory=2**30, cpu=1.0))
    cgroups.remove()
    gaps += [n.removeprefix("note: limits: ") for n in cgroups.notes]
    return gaps
