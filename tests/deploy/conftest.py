"""Fixtures for the deploy tests: loopback ssh test hosts, always stopped after use, also when a test fails.

``testhosts(n)`` starts n hosts for one test; ``module_testhosts(n)`` starts hosts shared by a module's tests (a deploy
is slow). A machine without sshd skips the test with the reason instead of failing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.deploy.testhosts import SshdMissing, TestHosts


def _factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., TestHosts]]:
    """Yield a function starting TestHosts (each under a fresh temp dir that keeps its sshd logs); stop them after."""
    started: list[TestHosts] = []

    def start(count: int, **kwargs) -> TestHosts:
        hosts = TestHosts(count, root=tmp_path_factory.mktemp("hosts"), **kwargs)
        started.append(hosts)
        try:
            return hosts.start()
        except SshdMissing as exc:
            pytest.skip(str(exc))

    try:
        yield start
    finally:
        for hosts in reversed(started):
            hosts.stop()


@pytest.fixture
def testhosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., TestHosts]]:
    """``testhosts(n, **kwargs)`` -> started TestHosts, stopped when the test ends."""
    yield from _factory(tmp_path_factory)


@pytest.fixture(scope="module")
def module_testhosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., TestHosts]]:
    """``module_testhosts(n, **kwargs)`` -> started TestHosts, stopped when the module's tests end."""
    yield from _factory(tmp_path_factory)
