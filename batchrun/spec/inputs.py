"""What a spec load read, and a fingerprint of it: the spec file, every file it named (rows,
extraction schemas) and every environment variable it looked up.

Loading a 100,000-task spec costs seconds; an `apply` of a batch that already ended should
not. `load_spec` records its inputs here, and the state keeps the fingerprint of the load
that last synced an instance's tasks. The same fingerprint later proves that loading again
would give the same tasks, so the load can be skipped (`ops/unchanged.py`).

The fingerprint is a sha256 over the batchrun version, the spec's absolute path and input
cap, and the content of every input, environment values included. No value is stored: only
the digest, the file paths and the variable names.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from batchrun.version import __version__

_READING_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class SpecInputs:
    """Where a spec load took its content from: enough to fingerprint it again."""

    spec_path: str  # absolute
    max_input_size: int
    files: tuple[str, ...]  # absolute paths of the files the spec named, sorted
    env: tuple[str, ...]  # the environment variables it looked up, sorted

    def as_json(self) -> str:
        return json.dumps(
            {
                "spec": self.spec_path,
                "max_input_size": self.max_input_size,
                "files": list(self.files),
                "env": list(self.env),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SpecInputs:
        data = json.loads(text)
        return cls(data["spec"], data["max_input_size"], tuple(data["files"]), tuple(data["env"]))

    def fingerprint(self, environ: Mapping[str, str]) -> str | None:
        """The digest of every input as it is now; None if one of the files cannot be read."""
        key = spec_key(self.spec_path, self.max_input_size)
        if key is None:
            return None
        files = []
        for path in self.files:
            digest = file_digest(path)
            if digest is None:
                return None
            files.append([path, digest])
        env = [[name, environ.get(name)] for name in self.env]
        return _digest([key, files, env])


@dataclass(frozen=True, slots=True)
class SpecSource:
    """A loaded spec's inputs and their fingerprint at the time of the load."""

    inputs: SpecInputs
    key: str  # see `spec_key`
    fingerprint: str


def spec_key(spec_path: str | os.PathLike[str], max_input_size: int) -> str | None:
    """The digest of the spec file alone (with its absolute path and cap): what finds the
    stored inputs of a spec before anything else is read. None if it cannot be read."""
    absolute = os.path.abspath(spec_path)
    spec_digest = file_digest(absolute)
    if spec_digest is None:
        return None
    return _key(absolute, max_input_size, spec_digest)


def shard_fingerprint(fingerprint: str, shard_label: str | None) -> str:
    """The fingerprint of one shard's tasks (a shard keeps a part of the spec's tasks)."""
    return fingerprint if shard_label is None else _digest([fingerprint, shard_label])


class _InputLog:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}  # absolute path -> sha256 of the bytes read
        self.opened: set[str] = set()


_current: ContextVar[_InputLog | None] = ContextVar("batchrun_spec_inputs", default=None)


def note_file_opened(path: str | os.PathLike[str]) -> None:
    log = _current.get()
    if log is not None:
        log.opened.add(os.path.abspath(path))


def note_file_read(path: str | os.PathLike[str], digest: str) -> None:
    """Called by every reader of a spec's files (`source_files`) once it read one whole:
    the digest is of the bytes the load used, not of the file as it is later."""
    log = _current.get()
    if log is not None:
        log.files[os.path.abspath(path)] = digest


class RecordingEnviron(Mapping[str, str]):
    """The environment, remembering every name looked up (set or not)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self._environ[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.names.add(name)
        return name in self._environ

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


@contextmanager
def recording(
    spec_path: str | os.PathLike[str], environ: Mapping[str, str], max_input_size: int
) -> Iterator[tuple[RecordingEnviron, list[SpecSource]]]:
    """Record a load's inputs; once the block ends without error, the list holds its source."""
    log = _InputLog()
    recorder = RecordingEnviron(environ)
    token = _current.set(log)
    result: list[SpecSource] = []
    try:
        yield recorder, result
    finally:
        _current.reset(token)
    spec_abs = os.path.abspath(spec_path)
    if log.opened - log.files.keys():
        return  # a file read in part: no fingerprint can vouch for the load
    spec_digest = log.files.pop(spec_abs, None)
    if spec_digest is None:
        return  # not a spec read from a file
    inputs = SpecInputs(
        spec_abs, max_input_size, tuple(sorted(log.files)), tuple(sorted(recorder.names))
    )
    files = [[path, log.files[path]] for path in inputs.files]
    env = [[name, environ.get(name)] for name in inputs.env]
    key = _key(spec_abs, max_input_size, spec_digest)
    result.append(SpecSource(inputs, key, _digest([key, files, env])))


def file_digest(path: str | os.PathLike[str]) -> str | None:
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(_READING_BUFFER):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _key(spec_path: str, max_input_size: int, spec_digest: str) -> str:
    return _digest([__version__, spec_path, max_input_size, spec_digest])


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value).encode("utf-8")).hexdigest()
