"""Podium settings: the only module that reads the environment.

Every knob has an environment variable named ``PODIUM_<FIELD>``; a ``.env`` file
in the working directory is read too. Call :func:`get_settings` for the current
values; tests change the environment with ``monkeypatch`` and call
:func:`get_settings.cache_clear`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from podium.errors import ConfigError

__all__ = ["Settings", "get_settings", "provider_env"]


class Settings(BaseSettings):
    """Process-wide configuration, read from ``PODIUM_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="PODIUM_", env_file=".env", extra="ignore")

    model: str = Field("offline", description="Chat model spec: 'offline' or 'provider:model'.")
    home: Path = Field(Path(".podium"), description="Where all runtime state lives.")
    allow_network_models: bool = Field(
        True, description="False refuses network-backed models (the test suite sets this)."
    )
    http_allowlist: list[str] = Field(
        default_factory=list, description="Hosts the http tool may reach."
    )
    http_timeout_s: float = Field(10.0, gt=0, description="Seconds an http tool call may take.")
    http_max_bytes: int = Field(
        1_000_000, gt=0, description="Largest response body the http tools read."
    )
    http_retries: int = Field(
        3, ge=0, description="Retries of the http tools on 429 and 5xx responses."
    )
    code_sandbox: Literal["auto", "bwrap", "unshare", "none"] = Field(
        "auto", description="Isolation of the code tool: 'auto' picks the best that works."
    )
    mcp_config: Path | None = Field(
        None, description="MCP client config (JSON); None: PODIUM_HOME/mcp.json."
    )
    sql_url: str | None = Field(None, description="Database URL for the sql tool.")
    sql_max_rows: int = Field(50, gt=0, description="Rows the sql tool returns at most.")
    sql_timeout_s: float = Field(5.0, gt=0, description="Statement timeout of the sql tool.")
    home_city: str = Field("London", description="Default origin of the flight search.")
    files_max_read_bytes: int = Field(
        1_000_000, gt=0, description="Largest file the files tools read or search."
    )
    files_max_write_bytes: int = Field(
        1_000_000, gt=0, description="Largest file the files tools write (appends included)."
    )
    postgres_url: str | None = Field(
        None, description="PostgreSQL URL for integration tests and the Postgres checkpointer."
    )
    collection: str = Field("handbook", description="Default Chroma collection.")
    chunk_size: int = Field(256, gt=0, description="Ingestion chunk size, in tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")
    top_k: int = Field(5, gt=0, description="Passages a retrieval returns by default.")

    @property
    def chroma_dir(self) -> Path:
        """Directory of the persistent Chroma client."""
        return self.home / "chroma"

    @property
    def docstore_dir(self) -> Path:
        """Directory of the ingestion docstores (content hashes), one file per collection."""
        return self.home / "docstores"

    @property
    def workspace_dir(self) -> Path:
        """Root of the files tool's workspace."""
        return self.home / "workspace"

    @property
    def data_dir(self) -> Path:
        """Directory of databases Podium creates (travel, sales)."""
        return self.home / "data"

    @property
    def mcp_config_path(self) -> Path:
        """The MCP client config: ``mcp_config`` when set, else ``PODIUM_HOME/mcp.json``."""
        return self.mcp_config or self.home / "mcp.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings, read once from the environment and cached.

    Raises:
        ConfigError: A ``PODIUM_*`` variable holds a value its field does not accept.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"PODIUM_{'_'.join(str(p) for p in e['loc'][:1]).upper()}: {e['msg']}"
            f" (got {e.get('input')!r})"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None


def provider_env(name: str) -> str | None:
    """Return a provider's environment variable (API keys, base URLs), or None.

    Provider packages read their own keys; Podium only asks whether one is set,
    and asks here so that no other module touches ``os.environ``.
    """
    return os.environ.get(name) or None
