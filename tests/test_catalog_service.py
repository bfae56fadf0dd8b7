"""The catalog service (infra/swarm/catalog_service/): the swarm's videos in the public
YTS and TMDB shapes, through its app, against the real catalog of the test videos."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from infra.config import Settings
from infra.ecosystem.prepare import prepare
from infra.swarm.catalog_service import shapes
from infra.swarm.catalog_service.__main__ import make_app

ANNOUNCE = "http://tracker:6969/announce"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare(Settings(run_dir=tmp_path_factory.mktemp("run")), progress=False)


def ask(prepared, path: str, status: int = 200, json: bool = True):
    async def main():
        async with TestClient(TestServer(make_app(prepared.catalog, prepared.torrent_dir, ANNOUNCE))) as client:
            response = await client.get(path)
            assert response.status == status, f"GET {path}: {response.status} {await response.text()}"
            return (await response.json()) if json else (response.headers, await response.read())
    return asyncio.run(main())


def entry(prepared, name: str):
    return prepared.catalog.get(name)


def test_a_video_is_found_by_title_on_tmdb_then_by_imdb_id_on_yts_with_its_torrent(prepared):
    large = entry(prepared, "test-large-4k")
    found = ask(prepared, "/3/search/movie?query=test-large-4k")
    assert found["total_results"] == 1 and found["results"][0]["title"] == "test-large-4k"
    tmdb_id = found["results"][0]["id"]
    details = ask(prepared, f"/3/movie/{tmdb_id}?append_to_response=translations,images,external_ids")
    assert details["id"] == tmdb_id and details["imdb_id"].startswith("tt")
    assert details["external_ids"]["imdb_id"] == details["imdb_id"] == ask(prepared, f"/3/movie/{tmdb_id}/external_ids")["imdb_id"]
    assert details["translations"] == {"translations": []} and details["images"]["logos"] == []
    listing = ask(prepared, f"/api/v2/list_movies.json?query_term={details['imdb_id']}")
    assert listing["status"] == "ok" and listing["data"]["movie_count"] == 1
    movie = listing["data"]["movies"][0]
    assert movie["imdb_code"] == details["imdb_id"]
    [torrent] = movie["torrents"]
    assert torrent["hash"] == large.info_hash.upper() and torrent["size_bytes"] == large.size
    assert torrent["quality"] == "2160p" and torrent["seeds"] == 1
    headers, body = ask(prepared, torrent["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]), json=False)
    assert headers["Content-Type"] == "application/x-bittorrent"
    assert body == (prepared.torrent_dir / large.torrent_file).read_bytes()


def test_the_unseeded_torrent_is_offered_with_no_seeds(prepared):
    movie = ask(prepared, "/api/v2/list_movies.json?query_term=test-unseeded")["data"]["movies"][0]
    assert movie["torrents"][0]["seeds"] == 0
    assert movie["torrents"][0]["hash"] == entry(prepared, "test-unseeded").info_hash.upper()


def test_the_torrent_url_names_the_host_the_client_asked(prepared):
    movie = ask(prepared, "/api/v2/list_movies.json?limit=50")["data"]["movies"][0]
    assert movie["torrents"][0]["url"].startswith("http://127.0.0.1:")


def test_unknown_things_answer_as_the_real_apis_do(prepared):
    assert ask(prepared, "/3/movie/1", 404)["status_code"] == 34
    assert ask(prepared, "/3/collection/5", 404)["success"] is False
    assert ask(prepared, "/api/v2/list_movies.json?query_term=nothing-like-it")["data"] == {
        "movie_count": 0, "limit": 20, "page_number": 1}
    assert ask(prepared, "/api/v2/movie_details.json?movie_id=1")["data"]["movie"] == {"id": 0}
    ask(prepared, "/torrent/download/" + "0" * 40, 404)
    ask(prepared, "/api/v2/list_movies.json?page=x", 400, json=False)


def test_lists_and_configuration_a_catalog_app_reads_at_start(prepared):
    config = ask(prepared, "/3/configuration")
    assert config["images"]["secure_base_url"].endswith("/t/p/")
    popular = ask(prepared, "/3/movie/popular")
    assert popular["total_results"] == len(prepared.catalog.entries)
    assert ask(prepared, "/3/movie/popular?page=2")["results"] == []
    assert ask(prepared, "/3/movie/changes")["results"] == [] and ask(prepared, "/3/genre/movie/list")["genres"]
    assert ask(prepared, "/3/discover/movie")["total_results"] == len(prepared.catalog.entries)


def test_the_tracker_list_names_the_swarms_tracker_only(prepared):
    _, body = ask(prepared, "/trackers/best.txt", json=False)
    assert [line for line in body.decode().splitlines() if line] == [ANNOUNCE, "udp://tracker:6969/announce"]
    _, body = ask(prepared, "/trackers/blacklist.txt", json=False)
    assert body == b""


def test_ids_are_the_same_in_every_run_and_unique(prepared):
    movies = shapes.movies(prepared.catalog)
    again = shapes.movies(prepared.catalog)
    assert [(m.tmdb_id, m.yts_id, m.imdb_id) for m in movies] == [(m.tmdb_id, m.yts_id, m.imdb_id) for m in again]
    assert len({m.tmdb_id for m in movies}) == len(movies)


@pytest.mark.parametrize("size, text", [(1060967, "1.01 MB"), (20237382, "19.30 MB"), (2 << 30, "2.00 GB"), (10, "10 B")])
def test_sizes_are_written_for_people(size, text):
    assert shapes.size_text(size) == text
