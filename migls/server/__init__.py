"""The migls language server (``migls server``): diagnostics, code actions, navigation of the
revision graph and hovers, over LSP (stdio, or TCP for debugging).

:func:`create_server` builds a server with every feature; :func:`main` runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migls.server.server import MiglsServer

__all__ = ["add_arguments", "create_server", "main", "run"]


def create_server() -> MiglsServer:
    """A server with every feature registered (pygls loads only now: ``migls lint`` and
    ``migls --help`` never pay for it)."""
    from migls.server.server import create_server as create

    return create()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``migls server`` options."""
    parser.add_argument("--tcp", type=int, metavar="PORT",
                        help="listen on a TCP port instead of stdio (for debugging)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on with --tcp (default: 127.0.0.1)")
    parser.add_argument("--log-file", metavar="PATH",
                        help="write the server's own log (debug level) to PATH")


def run(args: argparse.Namespace) -> int:
    """Run the server until the client exits."""
    import asyncio  # here, not above: `migls lint` builds this command's parser too
    import logging

    logging.basicConfig(
        filename=args.log_file, level=logging.DEBUG if args.log_file else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = create_server()
    if args.tcp is not None:
        try:
            asyncio.run(_serve_tcp(server, args.host, args.tcp))
        except OSError as exc:
            print(f"migls: error: cannot listen on {args.host}:{args.tcp}: {exc.strerror}",
                  file=sys.stderr)
            return 2
        except (KeyboardInterrupt, SystemExit):
            pass
    else:
        server.start_io()
    return 0


async def _serve_tcp(server: MiglsServer, host: str, port: int) -> None:
    """Serve one client over TCP, then exit; the port (``0``: any free one) is printed on
    stderr once the server listens, so that a debugger or a test can connect."""
    import asyncio
    import logging
    import threading

    from pygls.io_ import run_async

    stop = threading.Event()
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.protocol.set_writer(writer)
        try:
            await run_async(stop_event=stop, reader=reader, protocol=server.protocol,
                            logger=logging.getLogger("migls.server"),
                            error_handler=server.report_server_error)
        finally:
            if not finished.done():
                finished.set_result(None)

    listener = await asyncio.start_server(connection, host, port)
    bound = listener.sockets[0].getsockname()
    print(f"migls: listening on {bound[0]}:{bound[1]}", file=sys.stderr, flush=True)
    async with listener:
        await finished
    stop.set()
    server.shutdown_engine()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m migls.server [--tcp PORT]`` (``migls server`` is the same)."""
    parser = argparse.ArgumentParser(prog="migls server", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
