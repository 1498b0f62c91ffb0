"""``scslab ui``: the Streamlit explorer, and how to start it.

``launch(host, port)`` serves ``app.py`` (the page) with Streamlit in this process, on
``127.0.0.1`` by default, headless (it opens no browser and sends no usage statistics).
``knobs.py`` finds a scenario's parameters for the page. Needs the ``ui`` extra
(``pip install 'scslab[ui]'``); without it ``launch`` raises ``MissingExtraError`` naming it.
Owns the explorer only: it runs scenarios through ``scslab.api`` and ``scslab.compare`` and
draws the charts of ``scslab.report``.
"""

from __future__ import annotations

from pathlib import Path

from scslab.notebook import need

APP = Path(__file__).with_name("app.py")
"""The Streamlit script of the page."""

UI_EXTRA = "ui"


def streamlit_args(host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The ``streamlit`` command line that serves the explorer."""
    return [
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--runner.magicEnabled",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def launch(host: str = "127.0.0.1", port: int = 8501) -> None:
    """Serve the explorer until interrupted.

    Raises:
        MissingExtraError: Streamlit is not installed (the message names the ``ui`` extra).
    """
    cli = need("streamlit.web.cli", "scslab ui", UI_EXTRA, package="Streamlit")
    need("altair", "scslab ui", UI_EXTRA, package="Altair")  # a dependency of Streamlit's
    cli.main(streamlit_args(host, port), prog_name="streamlit", standalone_mode=False)
