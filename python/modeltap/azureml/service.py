"""Where an Azure ML v1 web service runs: workspace, model version and service name, as v1 read them.

On AKS, Azure ML mounts ``/var/azureml-app/model_config_map.json`` into the scoring container::

    {"accountContext": {"subscriptionId": "...", "resourceGroupName": "...", "accountName": "..."},
     "modelsInfo": {"best_model": {"3": {"dataCollectorStoragePath": "..."}, "4": {...}}}}

v1 took ``<subscription>/<resourcegroup>/<workspace>`` (lower-cased) from ``accountContext``,
the model version from ``modelsInfo`` (``default`` means the highest version listed), and the
service name from ``SERVICE_NAME``. Services not on AKS can set the same through
``AZUREML_ARM_SUBSCRIPTION``, ``AZUREML_ARM_RESOURCEGROUP`` and ``AZUREML_ARM_WORKSPACE_NAME``.
``AML_MODEL_CONFIG_MAP`` names another file (tests, or a copy mounted elsewhere).

The file is input from outside the process: it is read only when it is a regular file of at
most 1 MiB, and every value used is checked; a file that is there but wrong raises, naming the
file and the field, rather than sending rows to ``default/default/default``.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass
from typing import Any

from modeltap.layout import check_part

logger = logging.getLogger("modeltap.azureml")

CONFIG_MAP_PATH = "/var/azureml-app/model_config_map.json"
#: Names another config map file than :data:`CONFIG_MAP_PATH`.
CONFIG_MAP_VARIABLE = "AML_MODEL_CONFIG_MAP"
#: The fallback for services not on AKS: one variable per part of the workspace.
WORKSPACE_VARIABLES = ("AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP", "AZUREML_ARM_WORKSPACE_NAME")
MAX_BYTES = 1 << 20
DEFAULT = "default"
DEFAULT_WORKSPACE = "default/default/default"


@dataclass(frozen=True)
class ServiceContext:
    """What v1 filled in for a collector whose constructor left the defaults."""

    workspace: str
    service: str
    model_version: str
    #: ``modelsInfo[model][version].dataCollectorStoragePath`` with ``{webservice_name}``
    #: filled in, as v1 handed it on; modeltap keeps its documented layout and only reports it.
    storage_path: str | None = None


def resolve(model_name: str, workspace: str, service: str, model_version: str) -> ServiceContext:
    """The constructor's values, with each ``default`` replaced as v1 did it.

    >>> resolve("m", "sub/rg/ws", "svc", "3")
    ServiceContext(workspace='sub/rg/ws', service='svc', model_version='3', storage_path=None)
    """
    path = os.environ.get(CONFIG_MAP_VARIABLE) or CONFIG_MAP_PATH
    config = load(path)
    storage_path = None
    if config is not None:
        if workspace == DEFAULT_WORKSPACE:
            workspace = _account_workspace(config, path) or workspace
        model_version, storage_path = _model_info(config, path, model_name, model_version)
    if workspace == DEFAULT_WORKSPACE:
        workspace = _environment_workspace() or workspace
    if service == DEFAULT and os.environ.get("SERVICE_NAME"):
        service = check_part(os.environ["SERVICE_NAME"], "SERVICE_NAME")
    if storage_path is not None:
        storage_path = storage_path.replace("{webservice_name}", service)
    return ServiceContext(workspace, service, model_version, storage_path)


def load(path: str) -> dict[str, Any] | None:
    """The config map at ``path`` as a dict; None when there is no such file."""
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the service's start.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"Azure ML config map {path} cannot be opened: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"Azure ML config map {path} is not a regular file")
        data = b""
        while len(data) <= MAX_BYTES and (block := os.read(fd, MAX_BYTES + 1 - len(data))):
            data += block
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ValueError(f"Azure ML config map {path} is larger than {MAX_BYTES} bytes")
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"Azure ML config map {path} is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"Azure ML config map {path} must hold a JSON object, got {type(config).__name__}")
    logger.info("modeltap.azureml: read the service's workspace and model versions from %s", path)
    return config


def _field(value: Any, path: str, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"Azure ML config map {path}: {where} must be a string, got {type(value).__name__}")
    try:
        return check_part(value, where).lower()
    except ValueError as exc:
        raise ValueError(f"Azure ML config map {path}: {exc}") from None


def _account_workspace(config: dict[str, Any], path: str) -> str | None:
    account = config.get("accountContext")
    if account is None:
        return None
    if not isinstance(account, dict):
        raise ValueError(f"Azure ML config map {path}: accountContext must be an object")
    keys = ("subscriptionId", "resourceGroupName", "accountName")
    present = [k for k in keys if k in account]
    if not present:
        return None
    if len(present) < len(keys):
        missing = [k for k in keys if k not in account]
        raise ValueError(f"Azure ML config map {path}: accountContext lacks {', '.join(missing)}")
    return "/".join(_field(account[k], path, f"accountContext.{k}") for k in keys)


def _model_info(config: dict[str, Any], path: str, model: str, version: str) -> tuple[str, str | None]:
    models = config.get("modelsInfo")
    if models is None:
        return version, None
    if not isinstance(models, dict):
        raise ValueError(f"Azure ML config map {path}: modelsInfo must be an object")
    versions = models.get(model)
    if versions is None:
        return version, None
    if not isinstance(versions, dict):
        raise ValueError(f"Azure ML config map {path}: modelsInfo.{model} must be an object of versions")
    if version == DEFAULT and versions:
        bad = [v for v in versions if not (isinstance(v, str) and v.isascii() and v.isdigit())]
        if bad:
            raise ValueError(f"Azure ML config map {path}: modelsInfo.{model} has versions that are not numbers: {bad}")
        version = max(versions, key=int)
    info = versions.get(version)
    if info is None:
        return version, None
    if not isinstance(info, dict):
        raise ValueError(f"Azure ML config map {path}: modelsInfo.{model}.{version} must be an object")
    storage = info.get("dataCollectorStoragePath")
    if storage is not None and not isinstance(storage, str):
        raise ValueError(f"Azure ML config map {path}: dataCollectorStoragePath must be a string")
    return version, storage


def _environment_workspace() -> str | None:
    values = [os.environ.get(name, "") for name in WORKSPACE_VARIABLES]
    if not any(values):
        return None
    if not all(values):
        missing = [n for n, v in zip(WORKSPACE_VARIABLES, values, strict=True) if not v]
        raise ValueError(f"the workspace needs all of {', '.join(WORKSPACE_VARIABLES)}; {', '.join(missing)} not set")
    return "/".join(check_part(v, n).lower() for n, v in zip(WORKSPACE_VARIABLES, values, strict=True))
