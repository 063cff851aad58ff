"""``local-hf-hub`` / ``python -m hf_local_hub``: serve a local Hub until interrupted.

The token never comes from the command line (argv is visible to every user of the machine in
``ps``): it is read from ``$LOCAL_HUB_TOKEN`` or from the file named by ``--token-file``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from hf_local_hub.server import LocalHub

TOKEN_ENV_VAR = "LOCAL_HUB_TOKEN"  # noqa: S105 (a variable name, not a secret)


def _read_token(parser: argparse.ArgumentParser, token_file: Path | None) -> str:
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as error:
            parser.error(f"cannot read --token-file {token_file}: {error.strerror}")
        if not token:
            parser.error(f"--token-file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV_VAR, "").strip()
    if not token:
        parser.error(f"a token is required: set ${TOKEN_ENV_VAR} or pass --token-file FILE")
    return token


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="local-hf-hub",
        description="A local, file-backed Hugging Face Hub-compatible server (tests, demos).",
    )
    parser.add_argument("--root", required=True, type=Path, help="directory holding the repos")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument(
        "--token-file",
        type=Path,
        help=f"file holding the accepted bearer token (default: ${TOKEN_ENV_VAR})",
    )
    parser.add_argument("--user", default="local-user")
    parser.add_argument("--org", action="append", default=[], help="extra writable namespace")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    token = _read_token(parser, args.token_file)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    hub = LocalHub(
        args.root,
        token=token,
        user=args.user,
        orgs=tuple(args.org),
        host=args.host,
        port=args.port,
        fault_rate=args.fault_rate,
        seed=args.seed,
    )
    hub.serve_forever()


if __name__ == "__main__":
    main()
