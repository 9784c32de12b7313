"""--readonly: no path at all to a change of the cluster. Every binding of every screen is
pressed, every command run and the palette read, and the cluster is left as it was; the
client itself sends nothing but GET and HEAD."""

from __future__ import annotations

import pytest
from aistore.sdk.bucket import Bucket

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.commands import COMMANDS
from aisetl_tui.screens.objects import ObjectsScreen
from backend.ais import AisClient, ReadOnly
from backend.local import LocalCluster
from tests.conftest import code_msg
from tests.test_app import connected, until

ECHO = b"def transform(data):\n    return data\n"


def cluster_state(http) -> tuple:
    buckets = sorted(b["name"] for b in http.request(
        "GET", "/v1/buckets", params={"provider": "ais"}, json={"action": "list"}).json() or [])
    etls = sorted((e["id"], e["stage"]) for e in http.get("/v1/etl").json() or [])
    jobs = http.request("GET", "/v1/cluster", params={"what": "status_all"}, json={}).json()
    return buckets, etls, sorted(j["uuid"] for j in jobs or [])


async def press_every_binding(app: AisEtlApp, pilot) -> list[str]:
    """Press each enabled key of the current screen's own (the app's keys switch screens,
    quit or ask for help), submit what it opens, and come back to the screen after each."""
    screen, depth = app.screen, len(app.screen_stack)
    keys = sorted({b.binding.key.split(",")[0] for b in screen.active_bindings.values()
                   if b.enabled and b.binding.id and not b.binding.id.startswith("app.")
                   and b.binding.action != "back"})
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.1)
        if app.screen is not screen:  # a form or a dialog: submit it, if it lets us
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
        while len(app.screen_stack) > depth:
            await pilot.press("escape")
            await pilot.pause(0.05)
        assert app.screen is screen, key
    return keys


async def test_nothing_in_readonly_mode_changes_the_cluster(
        cluster: LocalCluster, http, bucket: Bucket, etl_cleanup: list[str]) -> None:
    bucket.object("a.txt").get_writer().put_content(b"some text :)\n")
    etl_cleanup.append("ro-echo")
    assert http.put("/v1/etl", json=code_msg("ro-echo", ECHO)).status_code == 200
    before = cluster_state(http)
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        for mode in ("buckets", "etls", "pods", "jobs"):
            await app.switch_mode(mode)
            await pilot.pause(0.5)
            shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
            assert not shown & type(app.screen).MUTATING, mode
            assert not shown & {"transform", "create", "destroy", "init_code", "init_spec",
                                "stop", "start", "delete", "offline", "upload"}, mode
            assert await press_every_binding(app, pilot)
        await app.switch_mode("buckets")
        app.run_command(f"objects {bucket.name}")
        await until(pilot, lambda: isinstance(app.screen, ObjectsScreen), "the objects")
        await pilot.pause(0.5)
        assert "t" not in {b.binding.key for b in app.screen.active_bindings.values()
                           if b.enabled and b.binding.action in ObjectsScreen.MUTATING}
        assert await press_every_binding(app, pilot)

        # the command bar: what changes the cluster is refused in words, not "unknown"
        for command in COMMANDS:
            if command.name == "quit":
                continue
            for typed in {command.name, command.name.split()[0]}:  # "init code", "init"
                app.run_command(typed if typed != "objects" else f"objects {bucket.name}")
            await pilot.pause(0.2)
            for _ in range(3):
                if len(app.screen_stack) <= 1:
                    break
                await pilot.press("escape")
                await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        for verb in ("init", "transform"):
            assert f":{verb} changes the cluster, and the app was started with --readonly" \
                in messages
        assert not any("unknown command" in m for m in messages)
        # the palette offers none of them
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Transform a bucket" not in titles and "Init ETL from code" not in titles
        assert "Buckets" in titles
    assert cluster_state(http) == before


async def test_a_readonly_client_sends_only_reads(cluster: LocalCluster, bucket: Bucket) -> None:
    async with AisClient(cluster.endpoint, token=cluster.token, readonly=True) as ais:
        assert bucket.name in [b.name for b in await ais.list_buckets()]
        for call in (ais.create_bucket("ro-new"), ais.destroy_bucket(bucket.name),
                     ais.put_bytes(bucket.name, "x", b"x"),
                     ais.delete_object(bucket.name, "x"),
                     ais.start_bucket_transform(bucket.name, "ro-dst", "ro-echo")):
            with pytest.raises(ReadOnly, match=r"read-only: .* changes the cluster"):
                await call

