"""python -m infra.swarm.catalog_service --catalog .run/catalog.json --torrent-dir DIR --tracker URL

The swarm's videos as a catalog-driven app finds movies (shapes: `shapes.py`):

GET /health                                   {"status": "healthy", "movies": N}
GET /api/v2/list_movies.json?query_term=&page=&limit=    YTS listing (title, IMDb code or info hash)
GET /api/v2/movie_details.json?movie_id=|imdb_id=        YTS details
GET /torrent/download/{HASH}                  the video's .torrent (application/x-bittorrent)
GET /3/configuration, /3/movie/{id}[?append_to_response=external_ids,translations,images],
    /3/movie/{id}/external_ids, /3/search/movie?query=, /3/find/{imdb_id}?external_source=imdb_id,
    /3/genre/{movie,tv}/list, /3/movie/{popular,top_rated,now_playing,upcoming},
    /3/trending/{movie,tv,all}/{day,week}, /3/tv/{popular,top_rated}, /3/{movie,tv}/changes
                                              TMDB v3 (any other /3 path: TMDB's 404)
GET /trackers/best.txt, /trackers/blacklist.txt   the swarm's tracker; nobody blacklisted

Absolute URLs in answers (the .torrent URL) use the host the client asked for, so they
work from the host and from inside a container network alike.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from infra.swarm import service
from infra.swarm.catalog import Catalog
from infra.swarm.catalog_service import shapes
from infra.swarm.tracker import udp_twin

LOG = logging.getLogger("catalog_service")
TMDB_LISTS = ("/3/discover/movie", "/3/movie/popular", "/3/movie/top_rated", "/3/movie/now_playing", "/3/movie/upcoming",
              "/3/trending/movie/day", "/3/trending/movie/week", "/3/trending/all/day", "/3/trending/all/week")
TMDB_EMPTY_LISTS = ("/3/discover/tv", "/3/tv/popular", "/3/tv/top_rated", "/3/trending/tv/day", "/3/trending/tv/week",
                    "/3/movie/changes", "/3/tv/changes")


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}={raw!r} is not a number") from None


def make_app(catalog: Catalog, torrent_dir: Path, announce: str) -> web.Application:
    movies = shapes.movies(catalog)
    by_tmdb = {m.tmdb_id: m for m in movies}
    by_hash = {m.entry.info_hash.upper(): m for m in movies}
    routes = web.RouteTableDef()

    def origin(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "movies": len(movies)})

    @routes.get("/api/v2/list_movies.json")
    async def list_movies(request: web.Request) -> web.Response:
        return web.json_response(shapes.yts_list(movies, origin(request), request.query.get("query_term", ""),
                                                 _int(request, "page", 1), _int(request, "limit", 20)))

    @routes.get("/api/v2/movie_details.json")
    async def movie_details(request: web.Request) -> web.Response:
        yts_id, imdb_id = _int(request, "movie_id", 0), request.query.get("imdb_id", "")
        movie = next((m for m in movies if m.yts_id == yts_id or (imdb_id and m.imdb_id == imdb_id)), None)
        return web.json_response(shapes.yts_details(movie, origin(request)))

    @routes.get("/torrent/download/{hash}")
    async def torrent(request: web.Request) -> web.StreamResponse:
        movie = by_hash.get(request.match_info["hash"].upper())
        if movie is None:
            return service.json_error(404, f"no torrent {request.match_info['hash']}")
        return web.Response(body=(torrent_dir / movie.entry.torrent_file).read_bytes(),
                            content_type="application/x-bittorrent",
                            headers={"Content-Disposition": f'attachment; filename="{movie.entry.torrent_file}"'})

    @routes.get("/3/configuration")
    async def configuration(request: web.Request) -> web.Response:
        return web.json_response(shapes.tmdb_configuration(origin(request)))

    @routes.get("/3/movie/{id:[0-9]+}")
    async def movie(request: web.Request) -> web.Response:
        found = by_tmdb.get(int(request.match_info["id"]))
        if found is None:
            return web.json_response(shapes.TMDB_NOT_FOUND, status=404)
        append = request.query.get("append_to_response", "").split(",")
        return web.json_response(shapes.tmdb_movie(found, append))

    @routes.get("/3/movie/{id:[0-9]+}/external_ids")
    async def external_ids(request: web.Request) -> web.Response:
        found = by_tmdb.get(int(request.match_info["id"]))
        if found is None:
            return web.json_response(shapes.TMDB_NOT_FOUND, status=404)
        return web.json_response(shapes.tmdb_external_ids(found))

    @routes.get("/3/search/movie")
    async def search(request: web.Request) -> web.Response:
        return web.json_response(shapes.tmdb_search(movies, request.query.get("query", "")))

    @routes.get("/3/find/{external_id}")
    async def find(request: web.Request) -> web.Response:
        return web.json_response(shapes.tmdb_find(movies, request.match_info["external_id"]))

    @routes.get("/3/genre/{kind:(movie|tv)}/list")
    async def genres(request: web.Request) -> web.Response:
        return web.json_response({"genres": list(shapes.GENRES)})

    async def movie_list(request: web.Request) -> web.Response:
        return web.json_response(shapes.tmdb_page([shapes.tmdb_summary(m) for m in movies], _int(request, "page", 1)))

    async def empty_list(request: web.Request) -> web.Response:
        return web.json_response(shapes.tmdb_page([], _int(request, "page", 1)))

    @routes.get("/3/{tail:.*}")
    async def tmdb_unknown(request: web.Request) -> web.Response:
        return web.json_response(shapes.TMDB_NOT_FOUND, status=404)

    @routes.get("/trackers/best.txt")
    async def trackers(request: web.Request) -> web.Response:
        return web.Response(text=shapes.tracker_list([announce, udp_twin(announce)]))

    @routes.get("/trackers/blacklist.txt")
    async def blacklist(request: web.Request) -> web.Response:
        return web.Response(text="")

    @web.middleware
    async def access_log(request: web.Request, handler) -> web.StreamResponse:
        """One line per request: what the app under test asked the catalog for is evidence."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            LOG.info("%s %s -> %s", request.method, request.path_qs, exc.status)
            raise
        LOG.info("%s %s -> %s", request.method, request.path_qs, response.status)
        return response

    app = web.Application(middlewares=[access_log])
    for path in TMDB_LISTS:
        app.router.add_get(path, movie_list)
    for path in TMDB_EMPTY_LISTS:
        app.router.add_get(path, empty_list)
    app.add_routes(routes)       # after the lists: /3/{tail} is the catch-all
    return app


def main() -> None:
    parser = service.base_parser("swarmspec catalog service (YTS- and TMDB-shaped listings of the swarm's videos)")
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--torrent-dir", type=Path, required=True)
    parser.add_argument("--tracker", required=True, help="the tracker's announce URL, as the swarm uses it")
    args = parser.parse_args()
    log = service.setup_logging("catalog_service")
    catalog = Catalog.load(args.catalog)

    async def factory() -> web.Application:
        return make_app(catalog, args.torrent_dir, args.tracker)

    service.run(factory, args.host, args.port, log)


if __name__ == "__main__":
    main()
