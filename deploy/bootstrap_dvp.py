"""After a deployment is up: what `minicanton localnet up` does once its nodes are ready.

    python deploy/bootstrap_dvp.py                  # compose: participants on 127.0.0.1:6865-6868

allocates the DvP parties (Bank, SR, Alice, Bob) on their own participants and uploads (so
vets) examples/dvp.py on each, through the Ledger API, as an operator would; then writes
DIR/network.json (mode 0600: it holds the token secret) in localnet's shape, so the usual
commands work against the deployment:

    minicanton demo dvp --dir deploy/.network
    minicanton token --dir deploy/.network --act-as Alice

Run it again any time: parties that exist are found, not allocated twice. For Kubernetes,
port-forward each participant's Service first and pass the endpoints:
`--participant bank=127.0.0.1:6865 ...` (deploy/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import grpc

from minicanton.cli.localnet.bootstrap import bootstrap_dvp
from minicanton.cli.localnet.layout import DVP_PARTICIPANTS
from minicanton.cli.localnet.network import save_network

DEPLOY = Path(__file__).resolve().parent
COMPOSE_PORTS = {"bank": 6865, "sr": 6866, "alice": 6867, "bob": 6868}  # docker-compose.yml


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if "=" in line and not line.startswith("#"))


def network_of(endpoints: dict[str, str], hs256_secret: str) -> dict[str, Any]:
    return {"participants": {name: {"ledger_api": endpoint, "admin_api": endpoint}
                             for name, endpoint in endpoints.items()},
            "auth": {"hs256_secret": hs256_secret}, "parties": {},
            "sequencers": {}, "mediators": {}, "topology_manager": {}}


def _endpoints(pairs: list[str]) -> dict[str, str]:
    endpoints = {name: f"127.0.0.1:{port}" for name, port in COMPOSE_PORTS.items()}
    for pair in pairs:
        name, _, endpoint = pair.partition("=")
        if name not in DVP_PARTICIPANTS or ":" not in endpoint:
            raise ValueError(f"--participant NAME=HOST:PORT with NAME one of "
                             f"{', '.join(DVP_PARTICIPANTS)}, not {pair!r}")
        endpoints[name] = endpoint
    return endpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/bootstrap_dvp.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, default=DEPLOY / ".env",
                        help="the file make_env.py wrote (for LEDGER_API_HS256_SECRET)")
    parser.add_argument("--dir", type=Path, default=DEPLOY / ".network",
                        help="where network.json goes (default deploy/.network)")
    parser.add_argument("--participant", action="append", default=[],
                        metavar="NAME=HOST:PORT", help="a participant's Ledger API endpoint")
    args = parser.parse_args(argv)
    try:
        secret = read_env(args.env).get("LEDGER_API_HS256_SECRET")
        if not secret:
            raise ValueError(f"{args.env} has no LEDGER_API_HS256_SECRET (make_env.py writes it)")
        network = network_of(_endpoints(args.participant), secret)
        asyncio.run(bootstrap_dvp(network, print))
        args.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = save_network(args.dir, network)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except grpc.aio.AioRpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
