"""What the benchmark requests: the endpoints, with paths drawn from the loaded catalog."""

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from bench import load
from bench.app import NOOP_PATH

# Terms of different selectivity, all from the loader's vocabulary.
SEARCH_TERMS = ("helmet", "alpine jacket", "carbon paddle", "waterproof", "trail 4242")
# How far into the largest category the deep page starts (a fraction of its items).
DEEP_FRACTION = 0.9
SAMPLE_ITEMS = 500
SAMPLE_PICTURES = 40


@dataclass
class Endpoint:
    """One thing to measure: its paths are requested in turn, all with ``headers``."""

    key: str
    title: str
    paths: list[str]
    headers: dict = field(default_factory=dict)
    expect: int = 200

    @property
    def path(self) -> str:
        return self.paths[0]

    @property
    def shown(self) -> str:
        more = f" (+{len(self.paths) - 1} more)" if len(self.paths) > 1 else ""
        return f"{self.path}{more}"


def build(url: str) -> tuple[list[Endpoint], dict]:
    """Return the endpoints for the catalog at ``url`` and facts about the paths chosen."""
    largest, count = load.largest_category(url)
    deep_slug = load.slug_at(url, largest, int(count * DEEP_FRACTION))
    items = load.sample_items(url, SAMPLE_ITEMS)
    pictures = load.sample_pictures(url, SAMPLE_PICTURES)
    category = f"/catalog/{quote(largest)}/"
    deep = f"{category}?{urlencode({'after': deep_slug})}" if deep_slug else category
    endpoints = [
        Endpoint("noop", "no-op route (whole stack)", [NOOP_PATH]),
        Endpoint("home", "home", ["/"]),
        Endpoint("category", "category, first page", [category]),
        Endpoint("category_deep", "category, deep page", [deep]),
        Endpoint(
            "item",
            "item page",
            [f"/catalog/{quote(c)}/{quote(i)}/" for _, c, i in items],
        ),
        Endpoint("search", "search", [f"/search?{urlencode({'q': q})}" for q in SEARCH_TERMS]),
        Endpoint("api_list", "API list of 20", ["/api/v1/items?limit=20"]),
        Endpoint("api_item", "API one item", [f"/api/v1/items/{n}" for n, _, _ in items]),
    ]
    if pictures:
        # What lists ask for most: a thumbnail, in WebP.
        endpoints.append(
            Endpoint("image", "picture (thumbnail)", [f"/images/{s}-200.webp" for s in pictures])
        )
    facts = {
        "largest_category": largest,
        "largest_category_items": count,
        "deep_after": deep_slug,
        "deep_position": int(count * DEEP_FRACTION),
        "sampled_items": len(items),
        "sampled_pictures": len(pictures),
    }
    return endpoints, facts


# The conditional GETs measured: each row's key, its title, and the endpoints whose first
# path is asked for an ETag, in order, until one answers If-None-Match with 304.
CONDITIONALS = {
    "conditional": ("conditional GET (304)", ("api_item", "item", "category", "home")),
    "conditional_page": ("conditional GET of a page (304)", ("item", "home", "category")),
}


def conditional_candidates(endpoints: list[Endpoint], key: str = "conditional") -> list[str]:
    """Return paths worth asking for an ETag for the row ``key``, in ``CONDITIONALS``' order."""
    by_key = {e.key: e for e in endpoints}
    return [by_key[k].path for k in CONDITIONALS[key][1] if k in by_key]
