"""Configuration from environment variables, read once and validated, so that a
bad setting stops the program with a message naming the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from unisupport.errors import InvalidInput

DATABASE_URL = "UNISUPPORT_DATABASE_URL"
DATA_DIR = "UNISUPPORT_DATA_DIR"


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get(DATA_DIR) or "data").expanduser()
        url = env.get(DATABASE_URL) or f"sqlite:///{(data_dir / 'unisupport.db').resolve()}"
        if not (url.startswith("sqlite:") or url.startswith("postgresql+psycopg:")):
            raise InvalidInput(
                f"{url.split(':', 1)[0]!r} databases are not supported: use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB",
                field=DATABASE_URL,
            )
        return cls(database_url=url, data_dir=data_dir)
