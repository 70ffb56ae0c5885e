"""Full-text search: the /search page and the statements the API shares."""

from catalog.search.statements import QUERY_MAX, api_query, bp, search_page, search_query

__all__ = ["QUERY_MAX", "api_query", "bp", "search_page", "search_query"]
