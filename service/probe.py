"""`python -m service.probe`: the image's health check, GET /healthz on this gateway's own port.

Reads the port from the same settings `vfer serve` does, so moving the listener moves the probe.
Exit status 0 when the gateway answers 200 within the time-out, 1 otherwise.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from service.gateway_settings import get_settings

TIMEOUT_S = 3.0


def main() -> int:
    url = f"http://127.0.0.1:{get_settings().port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError) as exc:
        print(f"probe: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
