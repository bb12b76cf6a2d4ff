"""The browser dashboard: one static page that talks to the public API (no build step)."""
