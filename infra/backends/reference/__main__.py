"""python -m infra.backends.reference: the reference torrent-streaming backend."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from infra.swarm import service
from infra.backends.reference import auth
from infra.backends.reference.app import Options, make_app
from infra.backends.reference.engine import Engine
from infra.backends.reference.store import SourceStore
from infra.config import Settings


def main() -> None:
    settings = Settings.from_env()
    parser = service.base_parser("swarmspec reference backend")
    parser.add_argument("--data-dir", type=Path, required=True, help="SQLite, JWT key and downloads")
    parser.add_argument("--credentials-file", type=Path, required=True)
    parser.add_argument("--tracker", action="append", default=[], help="announce URL added to every torrent")
    parser.add_argument("--peer-host", default=None, help="interface for BitTorrent peers (default: --host)")
    parser.add_argument("--stream-timeout", type=float, default=settings.stream_timeout)
    parser.add_argument("--metadata-timeout", type=float, default=settings.metadata_timeout)
    parser.add_argument("--idle-timeout", type=float, default=settings.idle_timeout)
    args = parser.parse_args()
    log = service.setup_logging("backend")
    credentials = auth.Credentials.load(args.credentials_file, settings.admin_email, settings.admin_password)
    tokens = auth.TokenIssuer.from_dir(args.data_dir, settings.token_ttl, settings.stream_token_ttl)

    async def factory() -> web.Application:
        engine = Engine(args.data_dir, args.tracker, host=args.peer_host or args.host, idle_timeout=args.idle_timeout)
        store = SourceStore(args.data_dir / "backend.sqlite")
        return make_app(engine, store, tokens, credentials, Options(args.stream_timeout, args.metadata_timeout))

    service.run(factory, args.host, args.port, log)


if __name__ == "__main__":
    main()
