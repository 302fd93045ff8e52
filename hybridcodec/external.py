"""Running external command-line tools (ffmpeg, opus-tools for the peers; apt-get, dpkg for the
corpus): the checks and the capture that both use."""
import shutil
import subprocess


def require_tool(name: str, error: type, advice: str) -> None:
    """Raise ``error`` (an exception class) saying ``name`` is missing and ``advice``, if it
    is not on the PATH."""
    if shutil.which(name) is None:
        raise error(f"'{name}' not found{advice}")


def run(command, cwd=None) -> subprocess.CompletedProcess:
    """Run a command, capturing its text output (never raises for its exit status)."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def last_line(text: str) -> str:
    """Last non-empty line of ``text``, or ``"no message"``."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"
