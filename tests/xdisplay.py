"""A virtual X display (Xvfb) showing a picture or a recording full-screen through mpv."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def virtual_display(
    media: Path, size: tuple[int, int], *, still: bool = False, black: bool = True
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (DISPLAY, the Xvfb process) while mpv shows `media` at (0, 0) filling the screen.

    Skips the test when Xvfb or mpv is missing (Debian packages xvfb and mpv). `still` keeps a
    picture on screen; otherwise a recording stays on its last frame when it ends.
    """
    for tool in ("Xvfb", "mpv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian packages xvfb and mpv)")
    w, h = size
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp",
         *(["-br"] if black else [])],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    player = None
    try:
        with os.fdopen(read_fd) as pipe:
            display = f":{pipe.readline().strip()}"
        hold = "--image-display-duration=inf" if still else "--keep-open=yes"
        player = subprocess.Popen(
            ["mpv", "--no-config", "--vo=x11", "--hwdec=no", "--no-audio", "--no-border",
             f"--geometry={w}x{h}+0+0", hold, "--osc=no", "--osd-level=0",
             "--no-input-default-bindings", "--really-quiet", str(media)],
            env={**os.environ, "DISPLAY": display},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        yield display, xvfb
    finally:
        for process in (player, xvfb):
            if process is not None and process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)
                if process.poll() is None:
                    process.kill()
                    process.wait()
