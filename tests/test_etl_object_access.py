"""The object access a target gives its transformers (``AIS_TARGET_URL/<uname>``): read with
the ETL's secret, and refused without it."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from backend.local import LocalCluster
from tests.conftest import code_msg
from tests.test_ais_client import unique

ECHO = b"def transform(data):\n    return data\n"


def test_transformer_object_access_reads_and_heads_with_the_secret(
        cluster: LocalCluster, http, bucket, etl_cleanup) -> None:
    bucket.object("dir/a.txt").get_writer().put_content(b"hello")
    name = unique("access")
    etl_cleanup.append(name)
    assert http.put("/v1/etl", json=code_msg(name, ECHO, comm="hpush://")).status_code == 200
    secret = json.loads((cluster.data_dir / "proxy" / "etl.json").read_text())[name]["secret"]
    owner = cluster.smap.owner(bucket.name, "dir/a.txt")
    uname = quote(f"ais/@#/{bucket.name}/dir/a.txt", safe="")
    with httpx.Client(base_url=owner.url, timeout=30) as target:
        url = f"/v1/etl/_object/{name}/{secret}/{uname}"
        assert target.get(url).content == b"hello"
        head = target.head(url)
        assert head.status_code == 200, head.headers.get("Hdr-Error")
        assert head.headers["Ais-Name"] == "dir/a.txt" and head.headers["Content-Length"] == "5"
        refused = target.get(f"/v1/etl/_object/{name}/not-the-secret/{uname}")
        assert refused.status_code == 403
        assert "invalid ETL object access" in refused.json()["message"]
