"""Fixtures for the data tests (helpers live in data_helpers.py)."""
from __future__ import annotations

import pytest

from data_helpers import FileServer


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path_factory, monkeypatch):
    """Never read or write the real user cache, nor follow the developer's $GANPLAY_DATA."""
    monkeypatch.setenv("GANPLAY_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GANPLAY_DATA", raising=False)


@pytest.fixture
def file_server():
    server = FileServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    server.thread.join(timeout=5)
