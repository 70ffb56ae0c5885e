"""Full-text search: the /search page and the statements the API shares."""

from catalog.search.statements import api_query, bp, search_page, search_query

__all__ = ["api_query", "bp", "search_page", "search_query"]
