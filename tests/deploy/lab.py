"""A real Docker engine on this machine, as ../shared/DEPLOY-LAB.md describes, for `make deploy-test`.

No image can be pulled here, so the engine builds a stand-in base image (Debian bookworm's
Python 3.11 from debootstrap, with this machine's CA bundle so pip reaches PyPI) and a stand-in
Redis from it; the project's own Dockerfile is built FROM the stand-in through its BASE_IMAGE
argument. The engine has no bridge: containers use host networking, on loopback ports only.
Every process started here is stopped by its pid, and every step is bounded in time.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDIN = "vfer-standin:bookworm"
REDIS_STANDIN = "redis:7.2-bookworm"  # the name docker-compose.yml asks for
_DEBIAN_PACKAGES = "python3,python3-pip,python3-venv,python-is-python3,ca-certificates"


class LabError(RuntimeError):
    """A step of the lab failed; the message says which and where its log is."""


def run(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None, log: Path | None = None) -> str:
    """Run a command to completion within `timeout`; its output, or a LabError with its tail."""
    try:
        done = subprocess.run(
            list(argv), env=env, timeout=timeout, capture_output=True, text=True, errors="replace", check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv[:4])}... did not finish within {timeout:.0f} s") from exc
    output = done.stdout + done.stderr
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ {' '.join(argv)}\n{output}\n")
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv[:6])} exited {done.returncode}:\n{output[-4000:]}")
    return done.stdout


def require_tools() -> None:
    missing = [tool for tool in ("dockerd", "debootstrap", "docker") if shutil.which(tool) is None]
    if missing:
        raise LabError(
            f"the deploy test needs {', '.join(missing)}: apt-get install docker.io debootstrap "
            "(make deploy-test installs them when run as root)"
        )
    if os.geteuid() != 0:
        raise LabError("the deploy test runs a Docker engine and debootstrap, which need root")


class Engine:
    """dockerd with its state under `root`, no bridge, no iptables; `env` points a client at it."""

    def __init__(self, root: Path, compose_binary: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        config = root / "config"
        (config / "cli-plugins").mkdir(parents=True, exist_ok=True)
        plugin = config / "cli-plugins" / "docker-compose"
        if not plugin.exists():
            plugin.symlink_to(compose_binary)
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_CONFIG": str(config)}
        self.env["DOCKER_BUILDKIT"] = "0"  # the legacy builder takes --network host; BuildKit needs a bridge
        self.log = root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Engine:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "dockerd",
                    f"--data-root={self.root / 'data'}",
                    f"--exec-root={self.root / 'exec'}",
                    f"--pidfile={self.root / 'dockerd.pid'}",
                    f"--host=unix://{self.socket}",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--bridge=none",
                    "--storage-driver=overlay2",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabError(f"dockerd exited {self.process.returncode}; see {self.log}")
            with contextlib.suppress(LabError):
                self.docker("version", timeout=10)
                return self
            time.sleep(0.5)
        raise LabError(f"dockerd did not answer within 60 s; see {self.log}")

    def docker(self, *args: str, timeout: float = 120) -> str:
        return run(["docker", *args], timeout, env=self.env)

    def stop(self) -> None:
        """Remove every container, stop dockerd (SIGTERM, then SIGKILL) and unmount what it left."""
        if self.process is None:
            return
        with contextlib.suppress(LabError):
            ids = self.docker("ps", "-aq", timeout=30).split()
            if ids:
                self.docker("rm", "-f", *ids, timeout=120)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.process = None
        for mount in reversed(_mounts_under(self.root)):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True, timeout=30)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    return [point for point in points if point.startswith(prefix)]


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (the stand-in comes from the same place)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text()
        found = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(r"^deb\s+(\S+/debian)\s", text, re.M)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def build_standin(engine: Engine, workdir: Path, log: Path) -> None:
    """The stand-in base image (about a minute), and a Redis image built from it."""
    images = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    if STANDIN not in images:
        rootfs = workdir / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={_DEBIAN_PACKAGES}",
                "bookworm",
                str(rootfs),
                debian_mirror(),
            ],
            timeout=600,
            log=log,
        )
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
        (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ntimeout = 180\n")
        for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-", STANDIN], stdin=tar.stdout, env=engine.env, capture_output=True, timeout=300
        )
        tar.wait(timeout=60)
        if imported.returncode != 0:
            raise LabError(f"docker import failed: {imported.stderr.decode(errors='replace')}")
        shutil.rmtree(rootfs, ignore_errors=True)
    if REDIS_STANDIN not in images:
        context = workdir / "redis-context"
        context.mkdir(exist_ok=True)
        (context / "Dockerfile").write_text(
            f"FROM {STANDIN}\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends redis-server "
            "&& rm -rf /var/lib/apt/lists/* && mkdir -p /data\n"
            "WORKDIR /data\n"
        )
        engine.docker("build", "--network", "host", "-t", REDIS_STANDIN, str(context), timeout=600)


def torch_wheel() -> Path:
    """The CPU torch wheel that lies on this machine (where pip's find-links point)."""
    places = [*os.environ.get("PIP_FIND_LINKS", "").split(), "/opt/wheels"]
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        ).stdout
        places += re.findall(r"find-links='([^']+)'", listed)
    for place in places:
        wheels = sorted(Path(place).glob("torch-2.13.0+cpu-*.whl")) if Path(place).is_dir() else []
        if wheels:
            return wheels[0]
    raise LabError(f"no CPU torch 2.13.0 wheel found in {places}")


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on a loopback port for the image builds (pip --find-links)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build_images(engine: Engine, tag: str, log: Path) -> dict[str, float]:
    """The gateway and CPU worker images from the project's Dockerfile; seconds each took."""
    wheel = torch_wheel()
    seconds = {}
    with serving(wheel.parent) as wheels:
        for target in ("gateway", "worker"):
            started = time.monotonic()
            args = ["build", "--network", "host", "--target", target, "-t", f"vfer/vfer-{target}:{tag}"]
            args += ["--build-arg", f"BASE_IMAGE={STANDIN}"]
            if target == "worker":
                args += ["--build-arg", "TORCH_SPEC=torch==2.13.0+cpu"]
                args += ["--build-arg", f"TORCH_CPU_PIP_ARGS=--find-links {wheels}"]
            output = engine.docker(*args, str(ROOT), timeout=900)
            with log.open("a") as out:
                out.write(output)
            seconds[target] = time.monotonic() - started
    return seconds


def lab_root() -> Path:
    """A short path (unix socket paths are limited to 108 bytes), fresh for each run."""
    return Path(tempfile.mkdtemp(prefix="vfer-lab-", dir="/tmp"))
