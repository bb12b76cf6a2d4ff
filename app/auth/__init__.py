"""API keys with scopes: storage (``keys``), the route -> scope rule (``scopes``), the one request
dependency that enforces it (``dependency``) and the open-mode rule for ``serve`` (``mode``)."""
