"""Local artifact folders: one per run, writes confined to it, atomic file copies."""

from __future__ import annotations

import os
import shutil
import tempfile
from urllib.parse import unquote, urlparse

from tracking.entities import FileInfo
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.validation import check_artifact_path


def uri_to_path(uri: str) -> str:
    """``file:///x`` or a plain path -> local absolute path."""
    if uri.startswith("file:"):
        return os.path.abspath(unquote(urlparse(uri).path))
    return os.path.abspath(uri)


def _inside(root: str, path: str) -> bool:
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root + os.sep)


class LocalArtifactRepository:
    """Artifacts of one run under ``root`` (the run's ``artifact_uri``)."""

    def __init__(self, root: str) -> None:
        self.root = uri_to_path(root)

    def path(self, artifact_path: str | None, what: str = "artifact_path") -> str:
        """Absolute local path of ``artifact_path``, refusing anything outside the run folder."""
        relative = check_artifact_path(artifact_path, what)
        target = os.path.join(self.root, relative) if relative else self.root
        if os.path.exists(self.root) and not _inside(self.root, target):
            raise InvalidInputError(f"{what} {artifact_path!r} escapes the run's artifact folder")
        return target

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> str:
        """Copy one file into ``artifact_path/``; returns its relative artifact path."""
        if not os.path.isfile(local_path):
            kind = "a directory (use log_artifacts)" if os.path.isdir(local_path) else "missing"
            raise InvalidInputError(f"local_path {local_path!r} is {kind}")
        folder = self.path(artifact_path)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, os.path.basename(local_path))
        _atomic_copy(local_path, target)
        return os.path.relpath(target, self.root).replace(os.sep, "/")

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy the contents of ``local_dir`` into ``artifact_path/``."""
        if not os.path.isdir(local_dir):
            raise InvalidInputError(f"local_dir {local_dir!r} is not a directory")
        folder = self.path(artifact_path)
        for current, _dirs, files in os.walk(local_dir):
            relative = os.path.relpath(current, local_dir)
            destination = folder if relative == "." else os.path.join(folder, relative)
            os.makedirs(destination, exist_ok=True)
            for name in files:
                _atomic_copy(os.path.join(current, name), os.path.join(destination, name))

    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        """Write ``data`` to ``artifact_file`` (a file path relative to the run folder)."""
        relative = check_artifact_path(artifact_file, "artifact_file")
        if not relative:
            raise InvalidInputError("artifact_file must name a file, e.g. 'results/table.json'")
        target = self.path(relative, "artifact_file")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return relative

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of ``path`` (sorted), with sizes for files."""
        base = self.path(path, "path")
        prefix = check_artifact_path(path, "path")
        if not os.path.isdir(base):
            return []
        result = []
        for name in sorted(os.listdir(base)):
            if name.startswith(".tmp-"):
                continue
            full = os.path.join(base, name)
            rel = f"{prefix}/{name}" if prefix else name
            if os.path.isdir(full):
                result.append(FileInfo(rel, True, None))
            else:
                result.append(FileInfo(rel, False, os.path.getsize(full)))
        return result

    def download_artifacts(self, path: str | None, dst_path: str | None = None) -> str:
        """Local path of the artifact (copied under ``dst_path`` when given)."""
        source = self.path(path, "path")
        if not os.path.exists(source):
            raise ResourceNotFoundError(f"artifact {path!r} does not exist under {self.root}")
        if dst_path is None:
            return source
        os.makedirs(dst_path, exist_ok=True)
        target = os.path.join(dst_path, os.path.basename(source.rstrip(os.sep)) or "artifacts")
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return os.path.abspath(target)


def _atomic_copy(source: str, target: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        shutil.copymode(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
