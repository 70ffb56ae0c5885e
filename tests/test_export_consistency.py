"""``flask export`` while others write: the dump is one moment of the catalog, consistent in itself.

Writers add, move and delete items as fast as they can while the export runs. The dump
must still agree with itself: its header's counts with its rows, each category's
item_count with the items it holds for that category, every item with an owner and a
category that the dump holds too. Read without one snapshot, categories (written
first) and items (written last) would come from different moments.
"""

import json
import random
import threading

import pytest
from sqlalchemy import select

from catalog.changes import Refused, add_item, change_item, remove_item
from catalog.extensions import db
from catalog.models import Category, Item, User
from catalog.seed import seed_demo, seed_synthetic

WRITERS = 3
EXPORTS = 3


def write_until(app, stop: threading.Event, commits: list, seed: int) -> None:
    """Add, move and delete items, one commit each, until ``stop`` is set."""
    rng = random.Random(seed)
    with app.app_context():
        owner = db.session.scalars(select(User).order_by(User.id)).first()
        categories = list(db.session.scalars(select(Category).order_by(Category.id)))
        mine: list[int] = []
        n = 0
        while not stop.is_set():
            n += 1
            roll = rng.random()
            try:
                if roll < 0.5 or not mine:
                    item = add_item(owner, rng.choice(categories), f"Writer {seed} item {n}")
                    db.session.commit()
                    mine.append(item.id)
                elif roll < 0.8:
                    item = db.session.get(Item, rng.choice(mine))
                    change_item(item, item.version, category=rng.choice(categories))
                    db.session.commit()
                else:
                    item = db.session.get(Item, mine.pop(rng.randrange(len(mine))))
                    remove_item(item, item.version)
                    db.session.commit()
            except Refused:
                db.session.rollback()
                continue
            commits.append(n)


def read_dump(path) -> tuple[dict, dict[str, list[dict]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    rows: dict[str, list[dict]] = {}
    for line in lines[1:]:
        record = json.loads(line)
        rows.setdefault(record["table"], []).append(record["row"])
    return head, rows


def test_export_during_concurrent_writes_is_consistent(app, tmp_path):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time; the snapshot matters on PostgreSQL")
        seed_demo()
        seed_synthetic(3_000)
    runner = app.test_cli_runner()
    stop = threading.Event()
    commits: list[int] = []
    writers = [
        threading.Thread(target=write_until, args=(app, stop, commits, n)) for n in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    try:
        for round_ in range(EXPORTS):
            path = tmp_path / f"catalog-{round_}.jsonl"
            before = len(commits)
            result = runner.invoke(args=["export", str(path)])
            during = len(commits) - before
            assert result.exit_code == 0, result.output
            # The writers really were at work while this export read.
            assert during > 0

            head, rows = read_dump(path)
            assert head["tables"] == {name: len(rows.get(name, [])) for name in head["tables"]}
            held: dict[int, int] = {}
            for item in rows["items"]:
                held[item["category_id"]] = held.get(item["category_id"], 0) + 1
            for category in rows["categories"]:
                assert category["item_count"] == held.get(category["id"], 0), category["name"]
            categories = {c["id"] for c in rows["categories"]}
            users = {u["id"] for u in rows["users"]}
            assert all(
                i["category_id"] in categories and i["owner_id"] in users for i in rows["items"]
            )
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
    assert len(commits) > EXPORTS
