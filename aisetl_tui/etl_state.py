"""How the app reads the state of ETLs and transform jobs, shared by the screens that show
them: an ETL's stage in words and colour, which jobs are transforms, whose ETL a job is."""

from __future__ import annotations

from rich.text import Text

from backend.ais import EtlInfo

STAGE_STYLE = {"Running": "green", "Initializing": "yellow", "Aborted": "red",
               "Stopped": "dim"}
TRANSFORM_KINDS = ("etl-bck", "etl-listrange")


def stage_text(stage: str) -> Text:
    return Text(stage, style=STAGE_STYLE.get(stage, ""))


def shown_stage(etl: EtlInfo, stopped: set[str]) -> str:
    """AIStore's stage, except that an ETL someone stopped from this app reads Stopped
    (AIStore calls it Aborted, as it does one that failed)."""
    return "Stopped" if etl.stage == "Aborted" and etl.name in stopped else etl.stage


def sole_running_etl(etls: list[EtlInfo]) -> str:
    """The ETL of a *running* job this app did not start, when the cluster tells: stopping an
    ETL aborts its jobs, so with one ETL Running it is that one. "" when it cannot tell."""
    running = [e.name for e in etls if e.stage == "Running"]
    return running[0] if len(running) == 1 else ""
