"""Full-text search over item names and descriptions: the /search page and the API's ``q``.

What matches is the same on both databases: the syntax of ``websearch_to_tsquery`` (words,
quotes, ``or``, ``-word``), read by ``syntax``. On PostgreSQL, against
``items.search_vector``, the stored English tsvector of the name (weight A) and of the
description (weight B), indexed with GIN; on SQLite, against ``items_search``, an FTS5
index of both with the Porter stemmer, kept in step by triggers.

The order of the /search page, the same on both databases:

1. The newest ``RANKED`` (100) matches among the recent items, those whose id is within
   ``RECENT_ITEMS`` (20,000) of the highest, best match first: by ``ts_rank`` on
   PostgreSQL, where words of the name weigh more than those of the description; on
   SQLite, items whose name holds every word first.
2. Then every other match, newest first.

Ties go newest first. A catalog of up to 20,000 items is ranked whole as long as a search
matches at most 100 of them; a word that matches tens of thousands has only its newest
ones ranked, since ranking them all meant reading every one of them, for every page.
The API's ``q`` lists the same matches in id order, a page after a cursor.

``syntax`` writes a search for each database; ``statements`` builds what each page runs
(and says why it is built so); ``views`` is the page. Other modules take what they need from here.
"""

from catalog.search.statements import QUERY_MAX, api_query, search_page, search_query

__all__ = ["QUERY_MAX", "api_query", "search_page", "search_query"]
