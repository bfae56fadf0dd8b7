"""The swarm's videos in the public shapes catalog-driven apps read: YTS-style movie
listings and details (API v2), the TMDB v3 endpoints that take a movie id to its IMDb id,
and a tracker list in the one-URL-a-line form of the public tracker lists.

Pure functions over the catalog, so they are tested without a server. Only documented
public fields are produced (https://yts.mx/api, https://developer.themoviedb.org), filled
with what is true of our videos: their info hash, size and a `.torrent` URL this service
serves; nothing of any application's internals. Ids are derived from the info hash, so
the same video has the same ids in every run and every provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from infra.swarm.catalog import Catalog, CatalogEntry

#: A fixed upload date: the catalog is deterministic, and a date read from a clock would not be.
UPLOADED = "2024-01-01 00:00:00"
UPLOADED_UNIX = 1704067200
RELEASE_DATE = "2024-01-01"
YEAR = 2024
GENRES = ({"id": 99, "name": "Documentary"},)
TRACKER_LIST_PATH = "/trackers/best.txt"
TMDB_NOT_FOUND = {"success": False, "status_code": 34, "status_message": "The resource you requested could not be found."}
_RESOLUTIONS = (("2160p", ("2160p", "4k")), ("1080p", ("1080p",)), ("720p", ("720p",)), ("480p", ("480p",)))


@dataclass(frozen=True)
class Movie:
    """One catalog entry as a movie: the ids every shape uses for it."""

    entry: CatalogEntry
    tmdb_id: int
    yts_id: int
    imdb_id: str

    @property
    def title(self) -> str:
        return self.entry.name

    @property
    def quality(self) -> str:
        """The YTS quality label, read from the video's name (test-large-4k: 2160p); 720p otherwise."""
        words = set(re.split(r"[^a-z0-9]+", self.entry.name.lower()))
        return next((label for label, names in _RESOLUTIONS if words & set(names)), "720p")

    @property
    def runtime_minutes(self) -> int:
        return 1


def movies(catalog: Catalog) -> list[Movie]:
    """Every catalog entry as a movie; ids from the info hash (checked to be unique)."""
    out = [Movie(entry, tmdb_id=int(entry.info_hash[:6], 16) + 1, yts_id=int(entry.info_hash[6:11], 16) + 1,
                 imdb_id=f"tt{int(entry.info_hash[11:18], 16) % 10_000_000:07d}") for entry in catalog.entries]
    for attribute in ("tmdb_id", "yts_id", "imdb_id"):
        values = [getattr(movie, attribute) for movie in out]
        if len(set(values)) != len(values):
            raise ValueError(f"two catalog entries share a {attribute}: {values}")
    return out


def size_text(size: int) -> str:
    """YTS writes sizes for people: "1.02 MB"."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{size} B"


# -- YTS API v2 ------------------------------------------------------------------------------

def yts_torrent(movie: Movie, origin: str) -> dict:
    entry = movie.entry
    return {
        "url": f"{origin}/torrent/download/{entry.info_hash.upper()}",
        "hash": entry.info_hash.upper(), "quality": movie.quality, "type": "web", "is_repack": "0",
        "video_codec": "x264", "bit_depth": "8", "audio_channels": "2.0",
        "seeds": 1 if entry.seeded else 0, "peers": 0,
        "size": size_text(entry.size), "size_bytes": entry.size,
        "date_uploaded": UPLOADED, "date_uploaded_unix": UPLOADED_UNIX,
    }


def yts_movie(movie: Movie, origin: str) -> dict:
    title = movie.title
    return {
        "id": movie.yts_id, "url": f"{origin}/movies/{title}", "imdb_code": movie.imdb_id,
        "title": title, "title_english": title, "title_long": f"{title} ({YEAR})", "slug": f"{title}-{YEAR}",
        "year": YEAR, "rating": 0, "runtime": movie.runtime_minutes, "genres": [g["name"] for g in GENRES],
        "summary": f"swarmspec test video {title}", "description_full": f"swarmspec test video {title}",
        "synopsis": f"swarmspec test video {title}", "yt_trailer_code": "", "language": "en", "mpa_rating": "",
        "background_image": "", "background_image_original": "", "small_cover_image": "",
        "medium_cover_image": "", "large_cover_image": "", "state": "ok",
        "torrents": [yts_torrent(movie, origin)],
        "date_uploaded": UPLOADED, "date_uploaded_unix": UPLOADED_UNIX,
    }


def yts_ok(data: dict) -> dict:
    return {"status": "ok", "status_message": "Query was successful", "data": data,
            "@meta": {"api_version": 2, "execution_time": "0 ms"}}


def yts_list(all_movies: Iterable[Movie], origin: str, query_term: str = "", page: int = 1, limit: int = 20) -> dict:
    """list_movies.json: `query_term` matches a title, an IMDb code or an info hash, as YTS's does."""
    term = query_term.strip().lower()
    found = [m for m in all_movies if not term or term in m.title.lower()
             or term in (m.imdb_id, m.entry.info_hash)]
    limit = max(1, min(limit, 50))
    page = max(1, page)
    chosen = found[(page - 1) * limit: page * limit]
    data = {"movie_count": len(found), "limit": limit, "page_number": page}
    if chosen:
        data["movies"] = [yts_movie(m, origin) for m in chosen]
    return yts_ok(data)


def yts_details(movie: Movie | None, origin: str) -> dict:
    """movie_details.json; YTS answers an unknown id with an empty movie, still "ok"."""
    return yts_ok({"movie": yts_movie(movie, origin) if movie else {"id": 0}})


# -- TMDB API v3 -----------------------------------------------------------------------------

def tmdb_configuration(origin: str) -> dict:
    base = f"{origin}/t/p/"
    sizes = ["w92", "w185", "w500", "original"]
    return {"images": {"base_url": base, "secure_base_url": base, "backdrop_sizes": sizes, "logo_sizes": sizes,
                       "poster_sizes": sizes, "profile_sizes": sizes, "still_sizes": sizes},
            "change_keys": []}


def tmdb_summary(movie: Movie) -> dict:
    return {"adult": False, "backdrop_path": None, "genre_ids": [g["id"] for g in GENRES], "id": movie.tmdb_id,
            "original_language": "en", "original_title": movie.title, "overview": f"swarmspec test video {movie.title}",
            "popularity": 1.0, "poster_path": None, "release_date": RELEASE_DATE, "title": movie.title,
            "video": False, "vote_average": 0.0, "vote_count": 0, "media_type": "movie"}


def tmdb_movie(movie: Movie, append: Iterable[str] = ()) -> dict:
    """GET /3/movie/{id}, with the `append_to_response` parts TMDB documents."""
    body = {**{k: v for k, v in tmdb_summary(movie).items() if k not in ("genre_ids", "media_type")},
            "belongs_to_collection": None, "budget": 0, "genres": list(GENRES), "homepage": "",
            "imdb_id": movie.imdb_id, "origin_country": [], "production_companies": [], "production_countries": [],
            "revenue": 0, "runtime": movie.runtime_minutes, "spoken_languages": [], "status": "Released",
            "tagline": ""}
    parts = set(append)
    if "external_ids" in parts:
        body["external_ids"] = tmdb_external_ids(movie)
    if "translations" in parts:
        body["translations"] = {"translations": []}
    if "images" in parts:
        body["images"] = {"backdrops": [], "logos": [], "posters": []}
    return body


def tmdb_external_ids(movie: Movie) -> dict:
    return {"id": movie.tmdb_id, "imdb_id": movie.imdb_id, "wikidata_id": None, "facebook_id": None,
            "instagram_id": None, "twitter_id": None}


def tmdb_page(results: list[dict], page: int = 1) -> dict:
    return {"page": page, "results": results if page == 1 else [], "total_pages": 1, "total_results": len(results)}


def tmdb_search(all_movies: Iterable[Movie], query: str) -> dict:
    term = query.strip().lower()
    return tmdb_page([tmdb_summary(m) for m in all_movies if term and term in m.title.lower()])


def tmdb_find(all_movies: Iterable[Movie], imdb_id: str) -> dict:
    return {"movie_results": [tmdb_summary(m) for m in all_movies if m.imdb_id == imdb_id], "person_results": [],
            "tv_results": [], "tv_episode_results": [], "tv_season_results": []}


# -- tracker list ----------------------------------------------------------------------------

def tracker_list(announce_urls: Iterable[str]) -> str:
    """One announce URL a line, a blank line between them (the public lists' form)."""
    return "\n\n".join(announce_urls) + "\n"
