"""Forms say what they need: real defaults instead of placeholders that look like values,
errors that go once fixed, and a taken ETL name offered for replacement."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from aisetl_tui.app import AisEtlApp
from aisetl_tui.screens.dialogs import ConfirmScreen, PromptScreen
from aisetl_tui.screens.etl_init import default_etl_name
from aisetl_tui.screens.inline import InlineTransformScreen
from backend.local import LocalCluster
from tests.conftest import MANIFESTS, code_msg
from tests.test_app import AsAnotherCluster, connected, open_init_form, submit_init_form, until

CRASHING = b"import no_such_module_here\n\ndef transform(data):\n    return data\n"
ECHO = b"def transform(data):\n    return data\n"


def test_a_default_name_comes_from_the_file() -> None:
    assert default_etl_name("manifests/md5/code.py") == "md5-etl"  # generic stem: its folder
    assert default_etl_name("/x/resize_images.py") == "resize-images"
    assert default_etl_name("ab.py") == "ab-etl"
    assert default_etl_name("a.py") == ""  # "a-etl" is too short: no default
    assert default_etl_name("") == ""
    assert default_etl_name("/x/" + "long" * 20 + ".py") == ("long" * 8)


async def test_the_name_follows_the_file_until_typed_and_errors_go_once_fixed(
        cluster: LocalCluster) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        form = await open_init_form(pilot, app, "code", MANIFESTS / "md5" / "code.py")
        name, path = form.query_one("#name", Input), form.query_one("#path", Input)
        error = form.query_one("#form-error", Static)
        assert name.value == "md5-etl" and "required" in name.placeholder
        path.value = str(MANIFESTS / "md5" / "io_code.py")
        await pilot.pause()
        assert name.value == "io-code"  # still the file's: it follows
        name.value = ""
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "name: required: 6 to 32" in str(error.render()),
                    "the name required")
        name.value = "Bad"
        await pilot.pause()
        assert "name:" in str(error.render())  # still wrong: the error stays
        name.value = "mine-etl"
        await until(pilot, lambda: not error.display, "the error gone once fixed")
        path.value = str(MANIFESTS / "md5" / "code.py")
        await pilot.pause()
        assert name.value == "mine-etl"  # typed by the user: the file no longer changes it


async def test_a_taken_name_is_offered_for_replacement(cluster: LocalCluster, http,
                                                       tmp_dir: Path,
                                                       etl_cleanup: list[str]) -> None:
    """A failed init leaves an Aborted ETL (as AIStore does); initing the same name again
    asks to replace it, and replacing it runs the new code."""
    etl_cleanup.append("retry-etl")
    assert http.put("/v1/etl", json=code_msg("retry-etl", CRASHING)).status_code == 400
    assert [e["stage"] for e in http.get("/v1/etl").json() if e["id"] == "retry-etl"] \
        == ["Aborted"]
    fixed = tmp_dir / "fixed.py"
    fixed.write_bytes(ECHO)
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        form = await submit_init_form(pilot, app, "code", fixed, "retry-etl")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the offer",
                    timeout=60)
        assert "already exists (Aborted)" in str(
            app.screen.query_one(".question", Static).render())
        await pilot.press("tab", "enter")  # Replace (Cancel is focused first)
        await until(pilot, lambda: app.screen is not form and not isinstance(
            app.screen, ConfirmScreen), "the form done", timeout=60)
        assert [e["stage"] for e in http.get("/v1/etl").json() if e["id"] == "retry-etl"] \
            == ["Running"]
        assert any("it replaced the aborted one" in n.message for n in app._notifications)


async def test_the_copy_prompt_offers_a_destination_and_requires_one(
        cluster: LocalCluster, http, bucket, etl_cleanup: list[str]) -> None:
    etl_cleanup.append("copy-echo")
    assert http.put("/v1/etl", json=code_msg("copy-echo", ECHO)).status_code == 200
    bucket.object("obj").get_writer().put_content(b"hello")
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await app.push_screen(InlineTransformScreen(bucket.name, "obj"))
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#etl").value == "copy-echo", "the ETL")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        answer = app.screen.query_one(Input)
        assert answer.value == f"{bucket.name}-copy-echo"  # a real default, not a placeholder
        answer.value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert "a destination is required" in str(app.screen.query_one("#error").render())
        answer.value = bucket.name + "/copied"
        await pilot.press("enter")
        await until(pilot, lambda: any(f"copied to ais://{bucket.name}/copied" == n.message
                                       for n in app._notifications), "the copy")
        assert bucket.object("copied").get_reader().read_all() == b"hello"


async def test_the_transform_form_follows_the_source_until_typed_and_shows_unchecked_boxes(
        cluster: LocalCluster, http, client, etl_cleanup: list[str]) -> None:
    from aisetl_tui.screens.offline import OfflineFormScreen
    from aisetl_tui.widgets.check import Check

    etl_cleanup.append("form-echo")
    assert http.put("/v1/etl", json=code_msg("form-echo", ECHO)).status_code == 200
    for name in ("form-src-a", "form-src-b"):
        client.bucket(name).create(exist_ok=True)
    try:
        app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot, app)
            await app.push_screen(OfflineFormScreen(src="form-src-a", etl="form-echo"))
            form = app.screen
            dst = form.query_one("#dst", Input)
            await until(pilot, lambda: dst.value == "form-src-a-form-echo", "the suggestion")
            form.query_one("#src").value = "form-src-b"
            await until(pilot, lambda: dst.value == "form-src-b-form-echo",
                        "the suggestion following the source")
            dst.value = "my-own"
            form.query_one("#src").value = "form-src-a"
            await pilot.pause()
            assert dst.value == "my-own"  # the user's: kept
            coer = form.query_one("#coer", Check)
            assert str(coer.render()).startswith("▐ ▌")  # an empty box, not an X
            coer.value = True
            await pilot.pause()
            assert str(coer.render()).startswith("▐✓▌")
    finally:
        for name in ("form-src-a", "form-src-b"):
            client.bucket(name).delete(missing_ok=True)


def test_a_pod_spec_has_a_runtime_spec_twin() -> None:
    import yaml

    from backend.ais import runtime_spec_for_pod

    twin = runtime_spec_for_pod((MANIFESTS / "md5" / "spec.yaml").read_text())
    assert twin is not None and twin.startswith("# AIStore runs a runtime spec's container "
                                                "with port 8000")
    spec = yaml.safe_load(twin)
    assert spec["runtime"]["image"] == "docker.io/aistore/md5_server:v1"
    assert spec["runtime"]["command"][:2] == ["/code/server.py", "--listen"]
    assert runtime_spec_for_pod((MANIFESTS / "md5" / "etl_spec.yaml").read_text()) is None


async def test_the_spec_form_warns_of_a_deprecated_pod_spec(cluster: LocalCluster) -> None:
    app = AisEtlApp(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        form = await open_init_form(pilot, app, "spec", MANIFESTS / "md5" / "spec.yaml")
        note = form.query_one("#form-note", Static)
        await until(pilot, lambda: "deprecated in AIStore 5.0" in str(note.render()),
                    "the warning")
        assert "image: docker.io/aistore/md5_server:v1" in str(note.render())
        form.query_one("#path", Input).value = str(MANIFESTS / "md5" / "etl_spec.yaml")
        await until(pilot, lambda: str(note.render()) == "", "no warning for a runtime spec")


async def test_the_code_form_says_how_code_goes_to_a_cluster_without_init_code(
        cluster: LocalCluster) -> None:
    """Given an endpoint, the app speaks to the cluster as to AIStore 5.0 (no `init code`)."""
    import sys

    app = AsAnotherCluster(start="buckets", endpoint=cluster.endpoint)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        form = await open_init_form(pilot, app, "code", MANIFESTS / "md5" / "code.py")
        note = form.query_one("#form-note", Static)
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        await until(pilot, lambda: f"runtime spec of aistorage/runtime_python:{here}" in str(
            note.render()), "the note")
        form.query_one("#runtime").value = "python3.13v2" if here != "3.13" else "python3.12v2"
        form.query_one("#comm").value = "io"
        await until(pilot, lambda: f"It runs on Python {here}" in str(note.render())
                    and "io:// becomes hpush://" in str(note.render()), "the caveats")
