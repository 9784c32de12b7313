"""The developer's loop without a cluster: picking a sample, comparing runs, finding the
failing line in a traceback, describing outputs, and judging code before it is sent."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from aisetl_tui.etl_code import (
    CodeOptions,
    code_kind,
    code_msg,
    code_problem,
    dependencies_of,
    missing_imports,
    source_of,
)
from aisetl_tui.sample_run import (
    SampleResult,
    SampleRun,
    SampleSpec,
    compare,
    describe_output,
    failing_line,
    log_at,
    percentile,
    pick_names,
    result_of,
    user_code_line,
)

NAMES = [f"img/{i:03}.jpg" for i in range(50)]


def test_first_n_are_the_first_by_name_whatever_the_listing_order() -> None:
    spec = SampleSpec("b", count=3)
    assert pick_names(list(reversed(NAMES)), spec) == NAMES[:3]
    assert pick_names(NAMES[:2], spec) == NAMES[:2]


def test_a_random_sample_is_the_same_for_the_same_seed_and_new_for_another() -> None:
    spec = SampleSpec("b", count=5, pick="random")
    first = pick_names(NAMES, spec, seed=0)
    assert first == pick_names(list(reversed(NAMES)), spec, seed=0)  # runs compare
    assert first == sorted(first) and len(set(first)) == 5 and set(first) <= set(NAMES)
    assert any(pick_names(NAMES, spec, seed=s) != first for s in range(1, 4))
    assert sorted(pick_names(NAMES[:3], spec)) == NAMES[:3]  # fewer than asked: all


def ok(name: str, output: bytes, latency: float = 0.01) -> SampleResult:
    return result_of(name, 10, latency, output)


def failed(name: str, error: str = "ValueError: no") -> SampleResult:
    return SampleResult(name, 10, 0.02, error=error)


def run(number: int, *results: SampleResult) -> SampleRun:
    return SampleRun(number, "code", SampleSpec("b"), results={r.name: r for r in results})


def test_a_run_against_the_one_before() -> None:
    before = run(1, ok("a", b"1", 0.010), ok("b", b"2", 0.020), failed("c"), failed("d"),
                 ok("e", b"5"))
    now = run(2, ok("a", b"1", 0.030), ok("b", b"changed", 0.040), ok("c", b"3"),
              failed("d"), failed("e"), ok("f", b"6"))
    comparison = compare(before, now)
    assert comparison.changes == {"a": "same", "b": "changed", "c": "fixed",
                                  "d": "still failing", "e": "new error", "f": "new"}
    assert list(comparison.counts()) == ["new error", "still failing", "changed", "fixed",
                                         "same", "new"]  # what to look at first
    # the successes' latencies: before 10, 10, 20 ms; now 10, 10, 30, 40 ms
    assert comparison.p50_delta == pytest.approx(0.0)
    assert comparison.p95_delta == pytest.approx(0.020)
    assert compare(None, now).changes == dict.fromkeys("abcdef", "new")
    assert compare(None, now).p50_delta is None


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.95) == 95
    assert percentile([7.0], 0.95) == 7.0 and percentile([], 0.5) is None


def test_the_failing_line_is_the_last_frame_in_the_users_code() -> None:
    init_code = ('Traceback (most recent call last):\n'
                 '  File "/x/backend/local/etl/_bootstrap.py", line 58, in wrapped\n'
                 '  File "/data/target-a/etl/md5-etl/code.py", line 4, in transform\n'
                 '  File "/data/target-a/etl/md5-etl/code.py", line 9, in helper\n'
                 '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads\n'
                 'json.decoder.JSONDecodeError: Expecting value')
    assert user_code_line(init_code) == 9
    sent_as_class = ('  File "<dynamic-code>", line 86, in transform\n'
                     '  File "<aisetl_md5_etl>", line 6, in transform\nValueError: x')
    assert user_code_line(sent_as_class) == 6
    # the runtime's own frames after the user's function returned: no line to point at
    assert user_code_line('  File "<dynamic-code>", line 37, in result_bytes\n'
                          'TypeError: transform() returned int, not bytes') is None
    assert user_code_line("ETL error: connection refused") is None


def test_outputs_are_described_as_text_binary_or_image() -> None:
    out = io.BytesIO()
    Image.new("L", (320, 200)).save(out, "JPEG")
    assert describe_output(out.getvalue()[:4096], 5000) == ("JPEG image 320x200 (L)", True)
    assert describe_output(b"d41d8cd98f00b204e9800998ecf8427e", 32) == ("text, 32 bytes", False)
    assert describe_output(bytes(range(256)), 256) == ("binary, 256 bytes", True)


SERVER = '''from aistore.sdk.etl.webserver.fastapi_server import FastAPIServer


class Upper(FastAPIServer):
    def transform(self, data, path, etl_args):
        return data.upper()
'''
SCRIPT = '''import sys

sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])
'''


def test_the_kind_of_a_transform() -> None:
    assert code_kind("def transform(data):\n    return data\n") == "function"
    assert code_kind(SERVER) == "server"
    assert code_kind(SCRIPT) == "script"
    assert code_kind("def transform(:\n") == "function"  # not parsing yet: the usual case


def test_code_problems_name_their_line() -> None:
    problem = code_problem("def transform(data):\n    return (data\n", "transform", False)
    assert problem is not None and problem.line == 2 and "syntax error" in str(problem)
    problem = code_problem("def other(data):\n    return data\n", "transform", False)
    assert problem is not None and problem.line == 0 and '"transform"' in str(problem)
    assert code_problem(SCRIPT, "transform", True) is None


def test_imports_missing_here_unless_declared() -> None:
    code = ("import hashlib\nimport no_such_module_xyz\nfrom PIL import Image\n"
            "from not_installed_either.sub import thing\n")
    problems = missing_imports(code, [])
    assert [(p.line, "no_such_module_xyz" in p.message) for p in problems][:1] == [(2, True)]
    assert [p.line for p in problems] == [2, 4]
    assert [p.line for p in missing_imports(code, ["no-such-module-xyz>=1"])] == [4]


def test_the_source_of_an_init_code_message_and_none_of_a_spec() -> None:
    msg = code_msg("md5-etl", "def transform(d):\n    return d\n", "function", CodeOptions(),
                   init_code=True)
    assert source_of(msg) == "def transform(d):\n    return d\n"
    assert base64.b64decode(msg["code"]).decode() == source_of(msg)
    with_deps = code_msg("md5-etl", "def transform(d):\n    return d\n", "function",
                         CodeOptions(dependencies=("pillow>=10", "numpy")), init_code=True)
    assert dependencies_of(with_deps) == ("pillow>=10", "numpy")
    assert dependencies_of(msg) == ()
    spec = code_msg("md5-etl", "def transform(d):\n    return d\n", "function", CodeOptions(),
                    init_code=False)
    assert "runtime" in spec and source_of(spec) is None


def test_a_server_class_goes_as_its_serialized_class() -> None:
    msg = code_msg("upper-etl", SERVER, "server", CodeOptions(comm="ws"), init_code=True)
    env = {e["name"]: e["value"] for e in msg["runtime"]["env"]}
    assert msg["communication"] == "ws://" and env["ETL_CLASS_PAYLOAD"]
    with pytest.raises(ValueError, match="exactly one ETLServer subclass"):
        code_msg("upper-etl", "x = 1\n", "server", CodeOptions(), init_code=True)
    plain = SERVER.replace("fastapi_server import FastAPIServer",
                           "http_multi_threaded_server import HTTPMultiThreadedServer"
                           ).replace("(FastAPIServer)", "(HTTPMultiThreadedServer)")
    with pytest.raises(ValueError, match="ws:// needs a FastAPIServer"):
        code_msg("upper-etl", plain, "server", CodeOptions(comm="ws"), init_code=True)


def test_the_log_at_an_object_holds_its_traceback_whichever_side_names_it() -> None:
    log = "\n".join(["INFO starting", "looking at b/x1", "looking at b/x2",
                     "ERROR - Critical error during processing", "Traceback (most recent "
                     "call last):", '  File "<dynamic-code>", line 8, in transform',
                     "ValueError: bad data in b/x2", "looking at b/x3", "a", "b", "c"])
    at = log_at(log, "b/x2")
    assert at.splitlines()[0] == "looking at b/x2" and "line 8" in at
    assert at.splitlines()[-1] == "b"  # three lines past the last naming it
    assert log_at(log, "b/x9") == ""
    # a pickled ETLServer class has no file name: its frames count only when it is the user's
    assert user_code_line(at) is None and user_code_line(at, dynamic_is_user=True) == 8
    result = SampleResult("x2", 1, 0.1, error="Processing error: bad data", log=at)
    assert failing_line(result, dynamic_is_user=True) == 8
