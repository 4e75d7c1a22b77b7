"""The blob store: the bytes of attachments, content-addressed by SHA-256, in a
folder (``UNISUPPORT_BLOB_DIR``, by default ``blobs`` in the data folder). What a
file is, whose it is and who may see it are rows in the database
(``incident_attachments``); the folder only holds bytes, each under the hex digest
of its content (``ab/cd/abcd…``), so the same file attached twice is kept once and
a blob never changes once written.

A blob is written atomically: into a temporary file in the same folder, flushed to
disk, then renamed over its final name (``os.replace``), so a reader never sees half
a file and two processes writing the same blob at once both succeed. Several
machines serving the same database share the folder (a network file system with
atomic rename, such as NFS; docs/deployment.md).

Writing a blob happens before the database transaction that references it commits:
a transaction that fails leaves an unreferenced blob behind, which
:meth:`BlobStore.remove_unreferenced` sweeps once it is old enough that no upload
in flight can still be about to reference it."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

_HEX = frozenset("0123456789abcdef")


class BlobMissing(LookupError):
    """No blob with this digest in the store (deleted by hand, or another store)."""


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"BlobStore({str(self.root)!r})"

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise ValueError(f"{digest!r} is not a SHA-256 hex digest")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: the same bytes have the same name) and return its digest."""
        digest = digest_of(data)
        final = self.path(digest)
        if final.exists():
            os.utime(final)  # fresh again: a sweep running now leaves it alone
            return digest
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".incoming-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(digest) from None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def digests(self) -> Iterator[str]:
        """Every blob in the store (temporary files left by a crash are not blobs)."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if len(path.name) == 64 and set(path.name) <= _HEX:
                yield path.name

    def remove_unreferenced(self, referenced: Iterable[str], *, older_than_seconds: float) -> int:
        """Delete the blobs no row references and nobody wrote for ``older_than_seconds``
        (nor left half-written by a crash); returns how many were deleted."""
        keep = set(referenced)
        limit = time.time() - older_than_seconds
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("??/??/*"):
            name = path.name
            is_blob = len(name) == 64 and set(name) <= _HEX
            if (is_blob and name in keep) or not (is_blob or name.startswith(".incoming-")):
                continue
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += is_blob
            except FileNotFoundError:
                continue
        return removed
