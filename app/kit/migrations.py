"""Running Alembic from the service and checking the database is at head."""

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def _root() -> Path:
    here = Path(__file__).resolve().parents[2]
    for base in (here, Path.cwd()):
        if (base / "migrations" / "env.py").exists():
            return base
    raise RuntimeError("cannot find the migrations folder")


def alembic_config(url: str) -> Config:
    root = _root()
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate the database at ``url`` (synchronous; call outside an event loop or in a thread)."""
    command.upgrade(alembic_config(url), revision)


@lru_cache
def head_revision() -> str | None:
    """The latest revision ("a,b" while work on parallel branches is not yet merged)."""
    root = _root()
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    return ",".join(sorted(ScriptDirectory.from_config(cfg).get_heads())) or None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's migration revision; None for a database never migrated."""
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        if not exists:
            return None
        rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
        return ",".join(sorted(rows)) or None
