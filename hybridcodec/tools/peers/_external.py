"""Running the peers' external programs: the project's helpers (hybridcodec.external) with the
peers' error class and install advice."""
from hybridcodec.errors import ExternalToolError
from hybridcodec.external import last_line, require_tool as _require_tool, run

__all__ = ["missing_reason", "require_tool", "run", "run_checked"]


def require_tool(name, debian_package):
    """Raise ExternalToolError if program ``name`` is not on the PATH.

    Parameters
    ----------
    name : str
        Program name, e.g. ``"ffmpeg"``.
    debian_package : str
        The Debian package that installs it, named in the message.
    """
    _require_tool(name, ExternalToolError, f" on the PATH; install it (Debian: {debian_package})")


def run_checked(command):
    """Run a command; ExternalToolError with its last stderr line if it fails."""
    result = run(command)
    if result.returncode != 0:
        raise ExternalToolError(f"'{command[0]}' failed: {last_line(result.stderr)}")
    return result


def missing_reason(check):
    """Why a peer cannot run: the message of the ExternalToolError ``check()`` raises, or None."""
    try:
        check()
    except ExternalToolError as error:
        return str(error)
    return None
