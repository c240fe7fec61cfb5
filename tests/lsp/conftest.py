"""The language server under pytest-lsp: ``client`` is ``migls server`` started over stdio and
driven as each recorded client (VS Code, Neovim 0.7 and current, Emacs); ``one_client`` as
VS Code only, for the tests whose subject is not the client (load, corpus, TCP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_lsp
from lsp_session import CLIENTS, SERVER_COMMAND, make_client
from pytest_lsp import ClientServerConfig, LanguageClient

CONFIG = ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client)


@pytest_lsp.fixture(params=CLIENTS, config=CONFIG)
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient
                 ) -> AsyncIterator[None]:
    lsp_client.name = request.param  # type: ignore[attr-defined]
    yield
    if lsp_client.capabilities is not None and lsp_client.error is None:
        await lsp_client.shutdown_session()


@pytest_lsp.fixture(params=CLIENTS[:1], config=CONFIG)
async def one_client(request: pytest.FixtureRequest, lsp_client: LanguageClient
                     ) -> AsyncIterator[None]:
    lsp_client.name = request.param  # type: ignore[attr-defined]
    yield
    if lsp_client.capabilities is not None and lsp_client.error is None:
        await lsp_client.shutdown_session()
