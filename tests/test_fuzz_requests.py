"""A bounded fuzzer: malformed and mistyped requests to every kind of endpoint, the proxy's
and the targets' internal ones, each answered with AIStore's error shape and a 4xx (or 501
for what AIStore does that the embedded cluster does not), never a 500."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from typing import Any

import httpx
import yaml

from backend.local import LocalCluster
from tests.conftest import auth_headers

REQUESTS = 1500
SEED = 20261202
JUNK: list[Any] = [None, 5, -1, "x", "", [], {}, [5], {"a": 1}, 1.5, True, "\x00", "{0..3}",
                   [[[]]], {"name": 5}]
ACTIONS = ["create-bck", "destroy-bck", "list", "summary-bck", "copy-bck", "etl-bck",
           "copy-listrange", "etl-listrange", "delete-listrange", "archive", "move-bck",
           "promote", "start", "stop", "etl-aborted", "evict-listrange", "no-such-action"]
FIELDS = ["prefix", "objnames", "template", "tobck", "id", "kind", "flags", "props", "pagesize",
          "time_format", "coer", "num-workers", "dry_run", "to", "archname", "mime", "src",
          "dst", "reason", "secret", "uuid", "continuation_token", "msg", "xid"]
DEEP = "[" * 3000 + "]" * 3000


class Fuzz:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def junk(self) -> Any:
        return self.rnd.choice(JUNK)

    def action_body(self) -> bytes:
        r = self.rnd.random()
        if r < 0.15:
            return b""
        if r < 0.25:
            return b"{not json"
        if r < 0.3:
            return DEEP.encode()
        value = self.junk() if self.rnd.random() < 0.4 else {
            k: self.junk() for k in self.rnd.sample(FIELDS, 4)}
        msg = {"action": self.rnd.choice(ACTIONS), "name": "", "value": value}
        if self.rnd.random() < 0.1:  # deep JSON where a value is expected
            return json.dumps(msg).replace('"value": ', f'"value": {DEEP}, "x": ').encode()
        return json.dumps(msg).encode()

    def etl_body(self) -> bytes:
        msg: dict[str, Any] = {"name": "fuzz-etl",
                               "communication": self.rnd.choice([self.junk(), "hpush://"]),
                               "obj_timeout": self.junk(), "init_timeout": self.junk()}
        if self.rnd.random() < 0.5:
            msg["runtime"] = self.junk() if self.rnd.random() < 0.3 else {
                "image": self.junk(), "command": self.junk(), "env": self.junk()}
            msg["resources"] = self.junk()
        else:
            container = {k: self.junk() for k in ("image", "ports", "command", "readinessProbe",
                                                  "resources", "env")}
            pod = {"metadata": self.junk(),
                   "spec": self.junk() if self.rnd.random() < 0.3 else {
                       "containers": self.junk() if self.rnd.random() < 0.5 else [container]}}
            msg["spec"] = base64.b64encode(yaml.safe_dump(pod).encode()).decode() \
                if self.rnd.random() < 0.9 else self.junk()
        return json.dumps(msg).encode()

    def request(self, targets: list[str]) -> tuple[str, str, bytes, dict[str, str]]:
        r, pick = self.rnd.random(), self.rnd.choice
        if r < 0.3:
            return pick(["POST", "DELETE", "PUT", "GET", "HEAD"]), "/v1/buckets/fz", \
                self.action_body(), {}
        if r < 0.4:
            return "PUT", "/v1/cluster", self.action_body(), {}
        if r < 0.5:
            what = pick(["status", "qryxstats", "status_all", "running_all", "nope"])
            return "GET", "/v1/cluster", self.action_body(), {"what": what}
        if r < 0.6:
            return "PUT", "/v1/etl", self.etl_body(), {}
        if r < 0.65:
            where = pick(["_aborted", "stop", "start"])
            return "POST", f"/v1/etl/fuzz-etl/{where}", self.action_body(), {}
        if r < 0.75:
            flags = pick(["abc", "-1", "99999999999999999999", "1", ""])
            return "GET", "/v1/buckets/fz", self.action_body(), {"flags": flags}
        if r < 0.9:  # a target's own routes, as only the proxy should call them
            path = pick(["/v1/xactions", "/v1/buckets/fz", "/v1/etl", "/v1/etl/fuzz-etl",
                         "/v1/objects/fz/o", "/v1/etl/fuzz-etl/_aborted"])
            return pick(["GET", "POST", "PUT", "DELETE"]), pick(targets) + path, \
                self.action_body(), {}
        param = pick(["etl_name", "archpath", "archregx", "latest"])
        return "GET", "/v1/objects/fz/o", b"", {param: pick(["x", "", "\x00", "[", "fuzz-etl"])}


def test_malformed_requests_get_4xx_never_500(cluster: LocalCluster) -> None:
    fuzz = Fuzz(SEED)
    failures: Counter[str] = Counter()
    with httpx.Client(base_url=cluster.endpoint, timeout=30, follow_redirects=True,
                      headers=auth_headers()) as http:
        http.post("/v1/buckets/fz", json={"action": "create-bck"}).raise_for_status()
        http.put("/v1/objects/fz/o", content=b"x").raise_for_status()
        smap = http.get("/v1/daemon", params={"what": "smap"}).json()
        targets = [t["public_net"]["direct_url"] for t in smap["tmap"].values()]
        try:
            for _ in range(REQUESTS):
                method, path, body, params = fuzz.request(targets)
                resp = http.request(method, path, content=body, params=params,
                                    headers={"Content-Type": "application/json"})
                if resp.status_code >= 400 and method != "HEAD":
                    assert {"message", "status"} <= set(resp.json()), resp.text
                if resp.status_code >= 500 and not (
                        resp.status_code == 501
                        and "not supported by the embedded cluster" in resp.text):
                    failures[f"{resp.status_code} {method} {path.split('/v1/')[-1]}: "
                             f"{resp.text[:160]}"] += 1
        finally:
            http.request("DELETE", "/v1/etl/fuzz-etl")
            http.request("DELETE", "/v1/buckets/fz", json={"action": "destroy-bck"})
    assert not failures, "\n".join(f"{n} x {what}" for what, n in failures.most_common())
