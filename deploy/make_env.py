"""Write the secrets a deployment of minicanton needs: deploy/.env and deploy/secrets/.

    python deploy/make_env.py            # with the project installed (`make install`)

`.env` holds one KEY=value a line (no quotes, so both `docker compose --env-file` and
`kubectl create secret generic --from-env-file` read it the same way): fresh random secrets,
and the two public values derived from them that other nodes must be told up front:

- SEQUENCER_PUBLIC_KEY_HEX: the sequencers' Ed25519 public key, pinned by every member
  (`trusted_sequencer_keys_hex`) instead of trusting what a sequencer announces;
- MEDIATOR_KEY_MAPPING_HEX: the mediator's self-signed key mapping, the topology manager's
  `initial_members`, printed by `minicanton topology key-mapping` (run here as a subprocess,
  the same command an operator would type).

`secrets/json_api_access_token` is an admin token the JSON APIs use to learn their
participant's id and to read packages (a file, as Daml's `--access-token-file`). It is also in
`.env` as JSON_API_ACCESS_TOKEN, for the Kubernetes Secret.

The files are never overwritten without `--force`: new keys for a network that already ran
would not match what its databases recorded (the mediator's identity, the pinned keys).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.runtime.auth import mint_dev_token

DEPLOY = Path(__file__).resolve().parent
MEDIATOR_NAME = "mediator"  # deploy/config/mediator.json: node_name
JSON_API_APPLICATION_ID = "HTTP-JSON-API-Gateway"
TOKEN_FILE = "json_api_access_token"


class MakeEnvError(Exception):
    pass


def mediator_key_mapping_hex(seed_hex: str, name: str = MEDIATOR_NAME) -> str:
    """`minicanton topology key-mapping --kind mediator --name NAME`, the seed passed in the
    environment (MINICANTON_KEY_SEED_HEX) rather than on a command line others can read."""
    result = subprocess.run(
        [sys.executable, "-m", "minicanton.cli.main", "topology", "key-mapping",
         "--kind", "mediator", "--name", name],
        env={**os.environ, "MINICANTON_KEY_SEED_HEX": seed_hex},
        capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise MakeEnvError(f"minicanton topology key-mapping failed: {result.stderr.strip()}")
    return str(json.loads(result.stdout)["key_mapping"])


def sequencer_public_key_hex(seed_hex: str) -> str:
    return SigningKeyPair.from_private(bytes.fromhex(seed_hex)).public.raw.hex()


def generate(token_ttl_s: int) -> dict[str, str]:
    """Every variable deploy/config reads without a default, with fresh values."""
    sequencer_seed, mediator_seed = secrets.token_hex(32), secrets.token_hex(32)
    hs256_secret = secrets.token_hex(32)
    return {
        "PGPASSWORD": secrets.token_hex(24),
        "LEDGER_API_HS256_SECRET": hs256_secret,
        "SEQUENCER_SIGNING_KEY_SEED_HEX": sequencer_seed,
        "SEQUENCER_PUBLIC_KEY_HEX": sequencer_public_key_hex(sequencer_seed),
        "SEQUENCER_ADMIN_TOKEN": secrets.token_hex(24),
        "TOPOLOGY_ADMIN_TOKEN": secrets.token_hex(24),
        "MEDIATOR_SIGNING_KEY_SEED_HEX": mediator_seed,
        "MEDIATOR_KEY_MAPPING_HEX": mediator_key_mapping_hex(mediator_seed),
        "MEDIATOR_ADMIN_TOKEN": secrets.token_hex(24),
        "JSON_API_ACCESS_TOKEN": mint_dev_token(
            hs256_secret, act_as=[], admin=True, application_id=JSON_API_APPLICATION_ID,
            expires_in_s=token_ttl_s),
    }


def _write(path: Path, content: str, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, content.encode())
    finally:
        os.close(fd)
    os.chmod(temporary, mode)  # the umask must not loosen or tighten it
    os.replace(temporary, path)


def write_files(values: dict[str, str], out: Path, force: bool) -> tuple[Path, Path]:
    env_path, token_path = out / ".env", out / "secrets" / TOKEN_FILE
    existing = [str(p) for p in (env_path, token_path) if p.exists()]
    if existing and not force:
        raise MakeEnvError(f"{', '.join(existing)} exist(s): a running network keeps its "
                           "keys; pass --force to replace them (and wipe its databases)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "secrets").mkdir(mode=0o700, exist_ok=True)
    (out / "secrets").chmod(0o700)
    _write(env_path, "".join(f"{k}={v}\n" for k, v in values.items()), 0o600)
    # Docker bind-mounts a compose secret with its file mode, and the containers run as uid
    # 10001: the file is world-readable, the folder around it is ours alone.
    _write(token_path, values["JSON_API_ACCESS_TOKEN"], 0o644)
    return env_path, token_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/make_env.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEPLOY, help="folder for .env and "
                        "secrets/ (default: deploy/)")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.add_argument("--token-ttl-days", type=int, default=365,
                        help="lifetime of the JSON APIs' admin token (default 365)")
    args = parser.parse_args(argv)
    try:
        values = generate(args.token_ttl_days * 24 * 3600)
        env_path, token_path = write_files(values, args.out, args.force)
    except (MakeEnvError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {env_path} and {token_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
