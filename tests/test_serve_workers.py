"""``serve --workers N`` (cli.server.run_uvicorn): the shared listening socket."""

from __future__ import annotations

import socket

import uvicorn

from unisupport.cli.server import APP, listening_socket


def test_connections_the_workers_accept_do_not_wait_for_delayed_acks():
    """uvicorn binds the workers' socket with protocol 0, and asyncio then leaves Nagle's
    algorithm on every connection: a response written as headers then body waited ~40 ms
    for the client's ACK (D143). The socket serve shares carries TCP_NODELAY, and the
    connections it accepts inherit it."""
    config = uvicorn.Config(APP, factory=True, host="127.0.0.1", port=0, workers=2)
    plain = config.bind_socket()
    with plain, listening_socket(config) as sock:
        assert plain.proto == 0  # what asyncio's _set_nodelay skips: the reason for the option
        sock.listen()
        with socket.create_connection(sock.getsockname()) as client:
            accepted, _ = sock.accept()
            with accepted, client:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        plain.listen()
        with socket.create_connection(plain.getsockname()) as client:
            accepted, _ = plain.accept()
            with accepted, client:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
