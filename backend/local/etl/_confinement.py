"""What of a pod's confinement this machine gives transformers, in words: said once when the
cluster starts and by ``cluster status``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from ._limits import Limits, make_cgroups
from ._sandbox import LAUNCHER, NOTE, Plan

# Not done by the embedded cluster on any machine yet
NEVER = ("network: transformers share this machine's network (no network namespace yet)",)


def confinement_gaps() -> list[str]:
    """What a transformer here is not confined by (the first lines of a pod's log say the
    same for that pod)."""
    gaps: list[str] = []
    try:
        out = subprocess.run([*LAUNCHER, Plan().to_arg(), "--", sys.executable, "-c", "pass"],
                             capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as err:
        gaps.append(f"sandbox: could not be tried ({err})")
    else:
        gaps += [line.removeprefix(NOTE).strip() for line in out.splitlines()
                 if line.startswith(NOTE)]
    if os.geteuid() != 0:
        gaps.append("user: transformers run as the cluster's owner (an unprivileged user "
                    "needs the cluster to run as root)")
    cgroups = make_cgroups(f"probe-{secrets.token_hex(4)}", Limits(memory=2**30, cpu=1.0))
    cgroups.remove()
    gaps += [n.removeprefix("note: limits: ") for n in cgroups.notes]
    return gaps + list(NEVER)
