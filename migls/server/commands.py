"""``workspace/executeCommand``: where the project commands are registered.

Add a command in :func:`register` with pygls' decorator; its handler receives the server
(whose state gives the environments: ``await ls.env_for(path)``, ``ls.envs``,
``ls.files_in_order(state)``, ``await ls.graph(state)``) and the command's arguments::

    @server.command("migls.showGraph")
    async def show_graph(ls: MiglsServer, *args: Any) -> Any:
        ...

Commands registered here are announced in ``executeCommandProvider`` at initialize.
"""

from __future__ import annotations

from migls.server.server import MiglsServer


def register(server: MiglsServer) -> None:
    """Attach the ``workspace/executeCommand`` handlers (none yet)."""
