"""The proxy's bucket metadata (BMD): which buckets exist, persisted atomically."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from ._fs import write_atomic


class BucketRegistry:
    def __init__(self, path: Path) -> None:
        self._path = path
        self.version = 0
        self.buckets: dict[str, dict] = {}
        if path.exists():
            raw = json.loads(path.read_text())
            self.version, self.buckets = raw["version"], raw["buckets"]

    def __contains__(self, bucket: str) -> bool:
        return bucket in self.buckets

    def add(self, bucket: str) -> None:
        self.buckets[bucket] = {"created": time.time_ns(), "bid": secrets.randbits(40)}
        self._save()

    def rename(self, bucket: str, to: str) -> None:
        self.buckets[to] = self.buckets.pop(bucket)
        self._save()

    def remove(self, bucket: str) -> None:
        del self.buckets[bucket]
        self._save()

    def _save(self) -> None:
        self.version += 1
        data = {"version": self.version, "buckets": self.buckets}
        write_atomic(self._path, json.dumps(data, indent=1).encode())

    def props(self, bucket: str) -> dict:
        """``cmn.Bprops`` of an ais:// bucket, as HEAD returns it in ``Ais-Bucket-Props``."""
        info = self.buckets[bucket]
        return {
            "provider": "ais",
            "backend_bck": {"name": "", "provider": ""},
            "write_policy": {"data": "immediate", "md": "immediate"},
            "checksum": {"type": "xxhash2", "validate_cold_get": False,
                         "validate_warm_get": False, "validate_obj_move": False,
                         "enable_read_range": False},
            "mirror": {"copies": 1, "burst_buffer": 128, "enabled": False},
            "ec": {"enabled": False},
            "versioning": {"enabled": True, "validate_warm_get": False, "synchronize": False},
            "access": "4294967295",
            "features": "0",
            "bid": str(info["bid"]),
            "created": str(info["created"]),
        }
