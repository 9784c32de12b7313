"""AIStore's ETL error text (cmn/err.go ErrETL, cmn/k8s PodStatus.String) in fields."""

from __future__ import annotations

from backend.ais import EtlFailure, parse_etl_error

OOM = ('p[XyZp8080]: [t[TqVt8081],etl="md5-etl",pod="md5-etl-tqvt8081",service="md5-etl-tqvt8081",'
       'pod_status="container: md5-etl, state: Terminated, reason: OOMKilled, message: killed, '
       'out of memory, exitCode: 137"] pod md5-etl-tqvt8081 terminated during init')


def test_a_crashed_init_in_fields() -> None:
    failure = parse_etl_error(OOM)
    assert failure == EtlFailure(
        target="TqVt8081", etl="md5-etl", pod="md5-etl-tqvt8081", service="md5-etl-tqvt8081",
        container="md5-etl", state="Terminated", reason="OOMKilled",
        message="killed, out of memory", exit_code=137,
        cause="pod md5-etl-tqvt8081 terminated during init")
    assert failure.lines() == [
        "pod md5-etl-tqvt8081 terminated during init",
        "target TqVt8081, pod md5-etl-tqvt8081",
        "container md5-etl: Terminated, OOMKilled, exit code 137",
        "message: killed, out of memory",
    ]


def test_quotes_inside_values_and_fields_left_out() -> None:
    text = ('[t[yBnt8082],etl="x-etl",pod_status="container: x-etl, state: Waiting, reason: '
            'ImagePullBackOff, message: Back-off pulling image \\"aistore/nope:v1\\", '
            'exitCode: 0"] timed out waiting for the pod to be ready')
    failure = parse_etl_error(text)
    assert failure is not None
    assert (failure.target, failure.pod, failure.state, failure.reason) == (
        "yBnt8082", "", "Waiting", "ImagePullBackOff")
    assert failure.message == 'Back-off pulling image "aistore/nope:v1"'
    assert failure.lines()[2] == "container x-etl: Waiting, ImagePullBackOff"
    only_target = parse_etl_error("[t[T1]] failed to start the communicator")
    assert only_target == EtlFailure(target="T1", cause="failed to start the communicator")


def test_other_text_is_not_an_etl_error() -> None:
    assert parse_etl_error('bucket "ais://b" does not exist') is None
    assert parse_etl_error("") is None


def test_a_long_message_shows_its_end() -> None:
    log = "\\n".join([f"line {i}" for i in range(20)] + ["ValueError: boom"])
    text = f'[t[T1],pod_status="container: c, state: Terminated, reason: Error, ' \
           f'message: {log}, exitCode: 1"] failed'
    failure = parse_etl_error(text)
    assert failure is not None and failure.message.endswith("line 19\nValueError: boom")
    assert failure.lines()[-7:] == ["message, its last 6 of 21 lines:", "line 15", "line 16",
                                    "line 17", "line 18", "line 19", "ValueError: boom"]


def test_a_crash_after_init_names_no_target() -> None:
    """Real AIStore 5.0's abort of an ETL whose transformer died (tests/test_real_etl.py): no
    target, and the pod status repeated as the reason."""
    status = ("container: md5-3f, state: Terminated, reason: Error, message: serving at "
              "127.0.0.1:31664, exitCode: 137")
    text = f'[pod="md5-3f-dwkt43965",pod_status="{status}"] {status} (and 1 more error)'
    failure = parse_etl_error(text)
    assert failure == EtlFailure(
        target="", pod="md5-3f-dwkt43965", container="md5-3f", state="Terminated",
        reason="Error", message="serving at 127.0.0.1:31664", exit_code=137,
        cause="the transformer's container ended (and 1 more error)")
    assert failure.lines()[:3] == [
        "the transformer's container ended (and 1 more error)",
        "pod md5-3f-dwkt43965",
        "container md5-3f: Terminated, Error, exit code 137",
    ]
    assert parse_etl_error("a [bracket] and [] in words") is None
