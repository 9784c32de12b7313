"""Legacy ``init code`` details: dependencies installed per ETL, chunked transforms with a
context, before/after hooks."""

from __future__ import annotations

import base64
import hashlib
import sys

import pytest

from backend.local.etl._msgs import CODE_RUNTIMES
from tests.conftest import MANIFESTS, code_msg, make_wheel

MD5_CODE = (MANIFESTS / "md5" / "code.py").read_bytes()


def test_dependencies_are_installed_for_the_etl(http, bucket, etl_cleanup, tmp_dir) -> None:
    wheel = make_wheel(tmp_dir)
    code = b"import tinydep\n\ndef transform(data):\n    return tinydep.shout(data)\n"
    deps = f"tinydep @ {wheel.as_uri()}\nxxhash\n"
    msg = code_msg("shout-etl", code, comm="hpush://",
                   dependencies=base64.b64encode(deps.encode()).decode())
    etl_cleanup.append("shout-etl")
    resp = http.put("/v1/etl", json=msg)
    assert resp.status_code == 200, resp.text
    bucket.object("o").get_writer().put_content(b"hello")
    resp = http.get(f"/v1/objects/{bucket.name}/o", params={"etl_name": "shout-etl"})
    assert resp.content == b"HELLO!"
    logs = base64.b64decode(http.get("/v1/etl/shout-etl/logs").json()[0]["logs"]).decode()
    assert "installed dependencies: tinydep @ file://" in logs
    assert "dependencies already on this machine: xxhash" in logs


def test_missing_dependency_fails_init_clearly(http, etl_cleanup, tmp_dir) -> None:
    deps = f"nothere @ {(tmp_dir / 'nothere-1.0-py3-none-any.whl').as_uri()}"
    msg = code_msg("broken-deps", b"def transform(d):\n    return d\n",
                   dependencies=base64.b64encode(deps.encode()).decode())
    etl_cleanup.append("broken-deps")
    resp = http.put("/v1/etl", json=msg)
    assert resp.status_code == 400
    assert "installing dependencies nothere" in resp.json()["message"]


CHUNKED = b"""
import hashlib

def before(context):
    context["md5"] = hashlib.md5()
    context["chunks"] = 0

def transform(chunk, context):
    context["md5"].update(chunk)
    context["chunks"] += 1

def after(context):
    return f"{context['md5'].hexdigest()} in {context['chunks']} chunks".encode()
"""


def test_chunked_transform_with_before_and_after(http, bucket, etl_cleanup) -> None:
    msg = code_msg("chunky-md5", CHUNKED, comm="hpush://", chunk_size=1000,
                   funcs={"transform": "transform", "before": "before", "after": "after"})
    etl_cleanup.append("chunky-md5")
    resp = http.put("/v1/etl", json=msg)
    assert resp.status_code == 200, resp.text
    data = bytes(range(256)) * 39  # 9,984 bytes: 10 chunks of at most 1,000
    bucket.object("o").get_writer().put_content(data)
    resp = http.get(f"/v1/objects/{bucket.name}/o", params={"etl_name": "chunky-md5"})
    assert resp.text == f"{hashlib.md5(data).hexdigest()} in 10 chunks"


def test_missing_hook_function_is_rejected(http) -> None:
    msg = code_msg("hookless", CHUNKED, funcs={"transform": "transform", "after": "finish"})
    resp = http.put("/v1/etl", json=msg)
    assert resp.status_code == 400
    assert 'no top-level function "finish" (funcs.after)' in resp.json()["message"]


@pytest.mark.parametrize("runtime", CODE_RUNTIMES)
def test_every_python_runtime_runs_on_this_interpreter(http, bucket, etl_cleanup,
                                                       runtime: str) -> None:
    name = "rt-" + runtime.replace(".", "-")
    etl_cleanup.append(name)
    resp = http.put("/v1/etl", json=code_msg(name, MD5_CODE, comm="hpush://", runtime=runtime))
    assert resp.status_code == 200, resp.text
    bucket.object("o").get_writer().put_content(b"some text :)\n")
    resp = http.get(f"/v1/objects/{bucket.name}/o", params={"etl_name": name})
    assert resp.text == "393c6706efb128fbc442d3f7d084a426"
    logs = base64.b64decode(http.get(f"/v1/etl/{name}/logs").json()[0]["logs"]).decode()
    host = f"python{sys.version_info.major}.{sys.version_info.minor}v2"
    noted = f"note: runtime {runtime} runs on this machine's Python" in logs
    assert noted == (runtime != host)
