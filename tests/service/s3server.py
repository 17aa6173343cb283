"""A real S3-compatible server for the tests: moto's standalone server, in its own process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.service.helpers import free_port, wait_until

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "vfer-test",
    "AWS_SECRET_ACCESS_KEY": "vfer-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    def __init__(self, log: Path) -> None:
        binary = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        if binary is None:
            raise RuntimeError("moto's server is not installed: pip install 'moto[server]' (it is in vfer[dev])")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_until(self._answers, 30, f"moto_server on port {self.port} (log: {log})")

    def _answers(self) -> bool:
        try:
            self.client().list_buckets()
        except Exception:
            return False
        return True

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def env(self, bucket: str, prefix: str = "uploads") -> dict[str, str]:
        """What a gateway or worker process needs to use the bucket."""
        return {**CREDENTIALS, "VFER_BLOB_URL": f"s3://{bucket}/{prefix}", "VFER_S3_ENDPOINT_URL": self.url}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def keys(server: S3Server, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", ()))
