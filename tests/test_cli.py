import importlib.metadata
import subprocess
import sys


def test_version_is_the_installed_package_version() -> None:
    out = subprocess.run([sys.executable, "-m", "aisetl_tui.cli", "--version"],
                         capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.strip() == f"aisetl-tui {importlib.metadata.version('aisetl-tui')}"
