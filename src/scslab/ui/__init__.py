"""``scslab ui``: the Streamlit explorer, and how to start it.

``launch(host, port)`` serves ``app.py`` (the page) with Streamlit in this process, on
``127.0.0.1`` by default, headless (it opens no browser and sends no usage statistics).
``knobs.py`` finds a scenario's parameters for the page. Needs the ``ui`` extra
(``pip install 'scslab[ui]'``); without it ``launch`` raises ``MissingExtraError`` naming it.
``check_address(host, port)`` refuses, as one line (``AddressError``), a host that is no address
of this machine and a port that is taken, before Streamlit starts (its own errors are
tracebacks); ``launch`` calls it before serving.
Owns the explorer only: it runs scenarios through ``scslab.api`` and ``scslab.compare`` and
draws the charts of ``scslab.report``.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from scslab.notebook import need

APP = Path(__file__).with_name("app.py")
"""The Streamlit script of the page."""

UI_EXTRA = "ui"


class AddressError(ValueError):
    """The explorer cannot listen on this host and port; the message is one line for the user."""


def check_port(port: int) -> None:
    """Refuse a ``port`` outside 1-65535.

    Raises:
        AddressError: One line naming ``--port`` and the range allowed.
    """
    if not 1 <= port <= 65_535:
        raise AddressError(f"--port: {port} is out of range; allowed: 1 to 65535")


def check_address(host: str, port: int) -> None:
    """Refuse a ``host`` this machine cannot listen on, or a ``port`` that is taken there.

    Binds (and closes) a socket as Streamlit's server would, with ``SO_REUSEADDR``, so that a
    port held only by closed connections is not refused.

    Raises:
        AddressError: One line naming ``--host`` or ``--port`` and what is allowed.
    """
    check_port(port)
    if not host.strip():  # getaddrinfo takes "" for every network: never by accident
        raise AddressError(
            f"--host: {host!r} is empty; give an address of this machine, such as 127.0.0.1 "
            "(this machine only) or 0.0.0.0 (every network)"
        )
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise AddressError(
            f"--host: {host!r} is not an address or a host name ({reason}); give an address of "
            "this machine, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every network)"
        ) from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise AddressError(
                    f"--port: {port} is in use on {host}; choose another --port"
                ) from None
            if err.errno == errno.EACCES:
                raise AddressError(
                    f"--port: {port} needs administrator rights; choose a port above 1023"
                ) from None
            if err.errno == errno.EADDRNOTAVAIL:
                raise AddressError(
                    f"--host: {host} is not an address of this machine; give one of its "
                    "addresses, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every network)"
                ) from None
            raise AddressError(
                f"--host {host} --port {port}: cannot listen there ({err.strerror or err})"
            ) from None


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
        AddressError: The host or the port cannot be listened on (``check_address``).
        MissingExtraError: Streamlit is not installed (the message names the ``ui`` extra).
    """
    cli = need("streamlit.web.cli", "scslab ui", UI_EXTRA, package="Streamlit")
    need("altair", "scslab ui", UI_EXTRA, package="Altair")  # a dependency of Streamlit's
    check_address(host, port)
    cli.main(streamlit_args(host, port), prog_name="streamlit", standalone_mode=False)
