"""Get a bearer token for a sample actor: ``python -m samples.token KEY_FILE [--server URL]``.

Signs the server's challenge with the actor's key (``POST /auth/challenge``, ``/auth/token``) and
prints the token, for ``curl -H "Authorization: Bearer $TOKEN" …``. The actor is the key's did:key,
as for every sample actor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_SERVER = "http://127.0.0.1:8000"


def main(argv: list[str] | None = None) -> int:
    """Print a token; exit 1 with the server's reason if refused."""
    from api.client import ApiClient
    from passport.ledger.keystore import load_key
    from signing.errors import BpassError

    parser = argparse.ArgumentParser(prog="python -m samples.token", description=__doc__)
    parser.add_argument("key", type=Path, help="the actor's private key file")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the node's base URL")
    args = parser.parse_args(argv)
    try:
        key = load_key(args.key)
        client = ApiClient(args.server)
        try:
            token = client.login(key.did, key)
        finally:
            client.close()
    except BpassError as exc:
        print(f"error: [{exc.code}] {exc.message}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
