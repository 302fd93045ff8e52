"""Running the peers' external programs: shared by the peer modules."""
import shutil
import subprocess

from hybridcodec.errors import ExternalToolError


def require_tool(name, debian_package):
    """Raise ExternalToolError if program ``name`` is not on the PATH.

    Parameters
    ----------
    name : str
        Program name, e.g. ``"ffmpeg"``.
    debian_package : str
        The Debian package that installs it, named in the message.
    """
    if shutil.which(name) is None:
        raise ExternalToolError(f"'{name}' not found on the PATH; install it (Debian: {debian_package})")


def run(command):
    """Run a command, capturing its text output (never raises on a non-zero exit)."""
    return subprocess.run(command, capture_output=True, text=True, check=False)


def run_checked(command):
    """Run a command; ExternalToolError with its last stderr line if it fails."""
    result = run(command)
    if result.returncode != 0:
        raise ExternalToolError(f"'{command[0]}' failed: {last_line(result.stderr)}")
    return result


def last_line(text):
    """Last non-empty line of ``text``, or ``"no message"``."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no message"
