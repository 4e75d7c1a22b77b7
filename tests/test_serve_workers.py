"""``serve --workers N`` (cli.server.run_uvicorn): the port the workers share."""

from __future__ import annotations

import pickle
import socket

import pytest
import uvicorn

from unisupport.cli.server import APP, ReservedPort, reserved_port
from unisupport.errors import InvalidInput


def config(port: int = 0) -> uvicorn.Config:
    return uvicorn.Config(APP, factory=True, host="127.0.0.1", port=port, workers=2)


def test_each_worker_gets_a_socket_of_its_own_and_the_kernel_spreads_the_connections():
    """With one shared socket, the worker that woke first accepted a whole burst of
    connections (D149). The reserved port, handed to each worker (pickled, as uvicorn's
    spawned workers get it), becomes a listening socket of that worker's own on the same
    port; connections are spread over them, none goes to the reserved port itself."""
    reserved = reserved_port(config())
    assert isinstance(reserved, ReservedPort)
    port = reserved.getsockname()[1]
    workers = [pickle.loads(pickle.dumps(reserved)) for _ in range(2)]  # what each spawned worker unpickles
    clients: list[socket.socket] = []
    try:
        for sock in workers:
            assert sock is not reserved and sock.getsockname() == ("127.0.0.1", port)
            sock.listen(64)
            sock.setblocking(False)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        accepted = {0: 0, 1: 0}
        for i, sock in enumerate(workers):
            while True:
                try:
                    connection, _ = sock.accept()
                except BlockingIOError:
                    break
                with connection:
                    # TCP_NODELAY on every connection (D143): no wait for delayed ACKs.
                    assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                accepted[i] += 1
        assert sum(accepted.values()) == 32  # all accepted by the workers' sockets
        assert min(accepted.values()) >= 1  # 2 × 2**-32 that the kernel hashes all 32 to one
    finally:
        for c in clients:
            c.close()
        for sock in workers:
            sock.close()
        reserved.close()


def test_a_port_in_use_is_refused_with_its_name():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(InvalidInput) as refused:
            reserved_port(config(taken.getsockname()[1]))
    assert refused.value.field == "--port"
