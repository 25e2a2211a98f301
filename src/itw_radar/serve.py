"""Start the Streamlit dashboard (`dashboard/app.py`) on a home's serving database.

`itw-radar serve [--port N] [--demo]` calls `serve`; `streamlit_command` builds the command and
environment so tests can start the same thing in the background.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from itw_radar import users
from itw_radar.paths import HOME_ENV, Home

DEMO_ENV = "ITW_RADAR_DEMO"
USERS_ENV = "ITW_RADAR_USERS"
DEMO_USER = "analyst"
DEMO_PASSWORD = "radar-demo"  # only ever accepted when ITW_RADAR_DEMO=1 (see dashboard/auth.py)


def app_path() -> Path:
    """dashboard/app.py of this source tree."""
    path = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    if not path.is_file():
        raise FileNotFoundError(
            f"The dashboard is not at {path}: run `itw-radar serve` from a checkout of the "
            "ITW Radar repository (the dashboard ships with the source, not the wheel)."
        )
    return path


def streamlit_command(home: Home, port: int = 8501, demo: bool = False,
                      address: str = "localhost") -> tuple[list[str], dict[str, str]]:
    """The `streamlit run` command line and environment that serve the dashboard."""
    if not 0 < int(port) < 65536:
        raise ValueError(f"port {port} is not between 1 and 65535; pass --port with a free port.")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.port", str(int(port)),
        "--server.address", address,
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--client.showErrorDetails", "none",
        "--theme.base", "light",
    ]
    env = dict(os.environ)
    env[HOME_ENV] = str(home.root)
    if demo:
        env[DEMO_ENV] = "1"
    else:
        env.pop(DEMO_ENV, None)
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    return cmd, env


def _file_users(home: Home) -> bool:
    """Whether the users file holds an enabled user (a broken file: the dashboard says why)."""
    try:
        return any(not u.disabled for u in users.load(home).values())
    except Exception:  # noqa: BLE001 - the login page reports a broken users file
        return True


def serve(home: Home, port: int = 8501, demo: bool = False) -> None:
    """Run the dashboard in the foreground until interrupted (Ctrl-C) or terminated; this
    process becomes the Streamlit server (exec), so it never returns."""
    cmd, env = streamlit_command(home, port, demo)
    if not home.serving.exists():
        print(f"Note: no serving database yet at {home.serving}; the dashboard will say so "
              "until `itw-radar run` publishes a night.", file=sys.stderr)
    print(f"ITW Radar dashboard: http://localhost:{port}  (home {home.root})")
    if demo:
        print(f"Demo login: user `{DEMO_USER}`, password `{DEMO_PASSWORD}`")
    elif not env.get(USERS_ENV) and not _file_users(home):
        print(f"No local users ({USERS_ENV} unset, none in {users.users_file(home)}): log in "
              "works only through single sign-on ([auth] in .streamlit/secrets.toml); add one "
              "with `itw-radar user add NAME --role admin`, or use --demo.", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Streamlit replaces this process (same pid): a SIGTERM from a script or a service manager
    # reaches the server itself. A child started with subprocess.call kept serving on the port
    # after its parent was terminated.
    os.execve(cmd[0], cmd, env)
