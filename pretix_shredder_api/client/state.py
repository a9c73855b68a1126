"""The state file ``FILE.json`` next to the export ``FILE``: what ``shred`` and ``export --resume`` need later.

It holds URLs and slugs, never the token. Written when the export is started, updated after the download was
verified and when the shred was started and finished.
"""

import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from pretix_shredder_api.client.errors import CliError, ExitCode

FORMAT = "pretix-shredder-state/1"


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class State:
    url: str  # pretix base URL
    organizer: str
    event: str
    shredders: list
    download: str  # download URL of the export
    shred: str  # shred URL of the export
    file: str  # the export's file name, in the state file's directory
    created: str = field(default_factory=now_iso)
    sha256: str | None = None  # set once the download was verified
    size: int | None = None
    status: str | None = None  # the shred's status URL, once started
    shredded: str | None = None  # when the shred was reported done

    @property
    def verified(self) -> bool:
        return self.sha256 is not None


def state_path(export_path: Path) -> Path:
    return export_path.with_name(export_path.name + ".json")


def export_path_of(state: State, path: Path) -> Path:
    return path.parent / state.file


def save(state: State, path: Path) -> None:
    """Write atomically: a crash leaves the old or the new state, never half of one."""
    data = {"format": FORMAT, **asdict(state)}
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise CliError(ExitCode.USAGE, f"Cannot write the state file {path}: {e.strerror or e}") from None


def load(path: Path) -> State:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CliError(ExitCode.USAGE, f"Cannot read the state file {path}: {e.strerror or e}") from None
    except ValueError:
        raise CliError(ExitCode.USAGE, f"{path} is not a pretix-shredder state file (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CliError(ExitCode.USAGE, f"{path} is not a pretix-shredder state file (format {FORMAT!r} expected)")
    names = {f.name for f in fields(State)}
    try:
        return State(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        raise CliError(ExitCode.USAGE, f"{path} is an incomplete pretix-shredder state file") from None
