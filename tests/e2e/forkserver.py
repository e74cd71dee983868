"""The CLI started by fork from an interpreter that has already imported it: the tests' real
processes without the import cost.

Every end-to-end test runs the real ``python -m bot ...`` in a process of its own; most of that
start is Python importing PTB, aiohttp, Babel, Jinja2, Pillow and livredor (0.6-0.8 s of CPU on
2 cores, 100-odd times a run). A fork server imports all of it once, then forks a child per
start: the child is a separate process with its own pid, process group, working directory,
environment, umask and standard streams (the test's files), and runs ``bot/__main__.py`` as
``python -m bot`` would (``runpy``), exits with its code and can be killed with ``kill -9``
like any other. multiprocessing's "forkserver" start method works the same way.

What differs from a fresh interpreter, and so stays on the ``exec`` path (``CliProcess`` falls
back by itself): a command run through a ``prefix`` (a umask, a file-size limit, dropped
capabilities: the server gives the child those itself), another module
than ``bot``, an environment whose interpreter-start variables (locale, ``PYTHON*``) differ
from the server's (one server per such set), and what happens at import time (warnings
printed while importing are printed once, by the server): a test about those sets
``fresh=True``. A child that exits normally skips the interpreter's final teardown of the
modules it inherited (see ``_exit_without_teardown``); its exit handlers, threads and
streams end as usual. ``TESTS_NO_FORK=1`` turns the server off for a whole run.

Protocol, over a Unix socket: the client sends one JSON request with three file descriptors
(stdin, stdout, stderr; ``socket.send_fds``), the server answers ``{"pid": N}`` at once and
``{"exit": code}`` when the child ends (the code as ``Popen.returncode`` gives it: negative
for a signal). The server dies with the test process, and each child with the server (Linux's
parent-death signal); a client that hangs up kills its child's process group.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import fcntl
import gc
import importlib
import json
import logging
import os
import pkgutil
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The environment variables read when an interpreter starts: a child needs the same as its
#: server's (set when the server started), or a server of its own.
STARTUP_VARIABLES = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "PYTHONWARNINGS",
    "PYTHONHASHSEED",
    "PYTHONDEVMODE",
    "PYTHONOPTIMIZE",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONSAFEPATH",
)
#: The packages a child may need, imported by the server once.
PACKAGES = ("bot", "storage", "config")
#: What livredor's libraries import only when first used (Babel its dates at the first date
#: formatted, Pillow its codecs...), imported once by the server instead. (Found by listing
#: what a child's ``sys.modules`` gains over its server's; a name missing here only costs
#: time.)
LAZY_IMPORTS = (
    "babel.dates",
    "encodings.utf_16_le",
    "encodings.utf_8_sig",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent() -> None:
    """Get SIGKILL when the process that started this one exits."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it exited before the signal was armed
        os._exit(1)


_PR_CAPBSET_DROP = 24  # from <linux/prctl.h>
_CAPABILITY_VERSION_3 = 0x20080522  # from <linux/capability.h>


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_capabilities(capabilities: Sequence[int]) -> None:
    """Take ``capabilities`` (numbers from <linux/capability.h>) out of this process's
    bounding, effective and permitted sets: what ``setpriv --bounding-set=-...`` and an
    ``exec`` leave to root. Raises OSError if Linux refuses."""
    if not capabilities:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in capabilities:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    for capability in capabilities:
        word, bit = divmod(capability, 32)
        data[word].effective &= ~(1 << bit)
        data[word].permitted &= ~(1 << bit)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def startup_key(env: dict[str, str]) -> tuple[tuple[str, str | None], ...]:
    """What in ``env`` shapes an interpreter at start: one server per distinct value."""
    return tuple((name, env.get(name)) for name in STARTUP_VARIABLES)


# --- the server (``python -m tests.e2e.forkserver SOCKET``) ---------------------------------


def _import_everything() -> None:
    """Import every module of livredor's packages (what any command could import) and what
    their libraries import lazily; read livredor's built-in texts."""
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    for name in LAZY_IMPORTS:
        importlib.import_module(name)
    # What livredor itself reads once per process: its built-in texts (10 ms of TOML).
    texts = importlib.import_module("bot.services.texts")
    texts.Texts.load()


@dataclass
class _Request:
    args: list[str]
    env: dict[str, str]
    cwd: str
    umask: int
    terminal: bool = False  # fd 0 is a pseudo-terminal: make it the controlling one
    file_size_limit: int | None = None  # RLIMIT_FSIZE in bytes, as ``prlimit --fsize``
    drop_capabilities: list[int] | None = None  # as ``setpriv --bounding-set=-...``


@dataclass
class _Child:
    pid: int
    pidfd: int
    connection: socket.socket
    hung_up: bool = False


def _serve(path: str) -> None:
    """Accept requests until the client goes; return only in a forked child, once it has
    taken its request's streams, directory and environment (it then runs the CLI)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    print("ready", flush=True)  # the client waits for this line
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    # The lifeline: the client holds the other end of our stdin; it closes when the test
    # process exits, however it dies. (The parent-death signal follows the starting
    # *thread*, and a client may start us from a worker thread that ends before it.)
    poller.register(sys.stdin.fileno(), select.POLLIN)
    by_pidfd: dict[int, _Child] = {}  # readable: the child ended
    by_connection: dict[int, _Child] = {}  # readable: the client hung up
    while True:
        for fd, _ in poller.poll():
            if fd == sys.stdin.fileno():
                for child in by_pidfd.values():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.pid, signal.SIGKILL)
                os._exit(0)
            if fd == listener.fileno():
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
                request = _Request(**json.loads(message))
                # What the server holds (every module of livredor and its libraries) goes to
                # the collector's permanent generation, as gc.freeze's documentation advises
                # before a fork: the child's collections and its exit then leave it alone
                # instead of walking (and copying, page by page) the whole inherited heap:
                # 0.5 s less per start of a command that refuses its output.
                gc.freeze()
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    for other in by_pidfd.values():
                        other.connection.close()
                    connection.close()
                    _become_child(request, fds)
                    return
                for received in fds:
                    os.close(received)
                child = _Child(pid, os.pidfd_open(pid), connection)
                by_pidfd[child.pidfd] = child
                by_connection[connection.fileno()] = child
                poller.register(child.pidfd, select.POLLIN)
                poller.register(connection, select.POLLIN)
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            elif fd in by_pidfd:
                child = by_pidfd.pop(fd)
                _, status = os.waitpid(child.pid, 0)
                poller.unregister(fd)
                os.close(fd)
                if not child.hung_up:
                    poller.unregister(child.connection)
                del by_connection[child.connection.fileno()]
                code = os.waitstatus_to_exitcode(status)
                with contextlib.suppress(OSError):
                    child.connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
                child.connection.close()
            elif fd in by_connection:
                # The client hung up before its child ended: the child's group goes too
                # (reaped above once its pidfd says so).
                child = by_connection[fd]
                child.hung_up = True
                poller.unregister(fd)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)


def _become_child(request: _Request, fds: list[int]) -> None:
    """In the forked child: take the request's streams, directory, environment and umask,
    and a session of its own, as ``CliProcess`` gives an ``exec``'d child."""
    os.setsid()
    _die_with_parent()
    # fd 0 was the server's lifeline; dup2 closes it (sys.stdin now reads the new fd 0).
    for target, received in enumerate(fds):
        os.dup2(received, target)
        os.close(received)
    if request.terminal:  # as a login shell's: Ctrl-C, getpass's /dev/tty
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.chdir(request.cwd)
    os.umask(request.umask)
    if request.file_size_limit is not None:
        limit = request.file_size_limit
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    drop_capabilities(request.drop_capabilities or ())
    os.environ.clear()
    os.environ.update(request.env)
    time.tzset()
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["-m", *request.args]
    sys.path[0] = request.cwd  # as ``python -m`` puts the working directory first


#: The forked child's exit code once the CLI has returned or called ``sys.exit(int)``.
_exit_code: int | None = None


def _exit_without_teardown() -> None:
    """The child's last step of a normal exit, in place of the interpreter's teardown.

    Registered in the child before the CLI runs, so it runs after the CLI's own exit handlers
    (atexit is last in, first out) and after the interpreter has joined the non-daemon
    threads, but before the server's (logging's, run here; Pillow's, a cache). Then it flushes
    the standard streams and leaves with the CLI's code, as a fresh interpreter would, without
    tearing down the modules the child inherited: that teardown touches (and so copies, page
    by page) the whole heap, ~45 ms of CPU per command for nothing anyone sees. The same as
    multiprocessing's forked children, which end with ``os._exit``. A flush that fails, an
    exception or an exit with a message take the interpreter's usual path."""
    if _exit_code is None:
        return
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # the interpreter's own flush says so, and exits 120
    os._exit(_exit_code)


def main() -> None:
    """Import livredor, serve, and in each forked child run ``bot/__main__.py``."""
    import runpy

    global _exit_code
    _import_everything()
    _serve(sys.argv[1])  # returns in a forked child only
    atexit.register(_exit_without_teardown)
    try:
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            _exit_code = exc.code or 0
        raise
    _exit_code = 0


# --- the client ------------------------------------------------------------------------------


class ForkServer:
    """One server process (per set of interpreter-start variables) for this test process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.directory = tempfile.mkdtemp(prefix="livredor-forkserver-")
        self.path = os.path.join(self.directory, "socket")
        server_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "HOME": self.directory,
        }
        server_env.update({k: v for k, v in startup_key(env) if v is not None})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.forkserver", self.path],
            cwd=self.directory,
            env=server_env,
            stdin=subprocess.PIPE,  # the lifeline, see _serve
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the fork server did not start (exit {self.process.wait()})")

    def spawn(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: Path,
        fds: list[int],
        *,
        terminal: bool = False,
        umask: int | None = None,
        file_size_limit: int | None = None,
        capabilities_dropped: Sequence[int] = (),
    ) -> Forked:
        """Start ``python -m bot <args>`` with the streams ``fds`` (stdin, stdout, stderr;
        ``terminal``: they are a pseudo-terminal's, which becomes the child's own), under
        ``umask`` (default: this process's) and a limit on the size of the files it writes
        (``file_size_limit`` bytes, as ``prlimit --fsize``; default: none), without
        ``capabilities_dropped`` (see ``drop_capabilities``)."""
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.path)
        request = {
            "args": args,
            "env": env,
            "cwd": str(cwd),
            "umask": _current_umask() if umask is None else umask,
            "terminal": terminal,
            "file_size_limit": file_size_limit,
            "drop_capabilities": list(capabilities_dropped),
        }
        socket.send_fds(connection, [json.dumps(request).encode()], fds)
        buffer = b""
        while b"\n" not in buffer:
            chunk = connection.recv(4096)
            if not chunk:
                raise RuntimeError("the fork server hung up")
            buffer += chunk
        line, _, rest = buffer.partition(b"\n")
        return Forked(int(json.loads(line)["pid"]), connection, rest)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self.directory)


def _current_umask() -> int:
    """This process's umask, read without changing it (``os.umask`` sets it, for every
    thread, while it reads it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return 0o022


class Forked:
    """A child of the fork server, as much of ``asyncio.subprocess.Process`` as the tests
    use: ``pid``, ``returncode`` (set as soon as the server says the child ended, once
    ``watch`` was called in an event loop), ``wait``, ``send_signal``."""

    def __init__(self, pid: int, connection: socket.socket, buffer: bytes) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._connection = connection
        self._buffer = buffer
        self._watching: asyncio.Task[int] | None = None

    def _absorb(self, chunk: bytes) -> bool:
        """Take what the server sent; return whether the exit is known."""
        self._buffer += chunk
        if b"\n" in self._buffer:
            self.returncode = int(json.loads(self._buffer.partition(b"\n")[0])["exit"])
        elif not chunk:  # the server is gone (killed with the test): so is the child
            self.returncode = -signal.SIGKILL
        if self.returncode is not None:
            self._connection.close()
        return self.returncode is not None

    def watch(self) -> None:
        """Follow the exit in the running event loop (``returncode`` updates by itself)."""

        async def follow() -> int:
            loop = asyncio.get_running_loop()
            self._connection.setblocking(False)
            while not self._absorb(await loop.sock_recv(self._connection, 4096)):
                pass
            assert self.returncode is not None
            return self.returncode

        if b"\n" in self._buffer and self._absorb(b""):
            return
        if self._watching is None:
            self._watching = asyncio.get_running_loop().create_task(follow())

    async def wait(self) -> int:
        """Wait for the exit (a cancelled wait leaves the following running)."""
        if self.returncode is not None:
            return self.returncode
        self.watch()
        assert self._watching is not None
        return await asyncio.shield(self._watching)

    def wait_blocking(self, timeout: float | None = None) -> int:
        """Wait for the exit in this thread (``subprocess.TimeoutExpired`` after ``timeout``)."""
        self._connection.settimeout(timeout)
        try:
            if b"\n" in self._buffer:
                self._absorb(b"")
            while self.returncode is None:
                self._absorb(self._connection.recv(4096))
        except TimeoutError:
            raise subprocess.TimeoutExpired(["python", "-m", "bot"], timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)


_servers: dict[tuple[tuple[str, str | None], ...], ForkServer] = {}
_servers_lock = threading.Lock()


def enabled() -> bool:
    """Whether CLI starts go through a fork server (on under pytest, see conftest)."""
    return _enabled and os.environ.get("TESTS_NO_FORK") != "1"


_enabled = False


def enable() -> None:
    """Let ``CliProcess`` and ``run_sync`` use fork servers (tests/conftest.py does)."""
    global _enabled
    _enabled = True


def server_for(env: dict[str, str]) -> ForkServer:
    """The server for ``env``'s interpreter-start variables (started on first use)."""
    key = startup_key(env)
    with _servers_lock:
        if key not in _servers:
            _servers[key] = ForkServer(env)
        return _servers[key]


def close_all() -> None:
    """Stop every server (at the end of the test session)."""
    with _servers_lock:
        for server in _servers.values():
            server.close()
        _servers.clear()


def run_sync(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 60, input_: str = ""
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, -m, bot, *args], capture_output=True, text=True)``, through
    a fork server when enabled."""
    if not enabled():
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=cwd,
            input=input_,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        stdin.write(input_.encode())
        stdin.seek(0)
        child = server_for(env).spawn(args, env, cwd, [stdin.fileno(), out.fileno(), err.fileno()])
        try:
            code = child.wait_blocking(timeout)
        finally:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    return subprocess.CompletedProcess([sys.executable, "-m", "bot", *args], code, stdout, stderr)


if __name__ == "__main__":
    main()
