"""Persistence of the fleet behind one contract (`Store`), with an embedded SQLite backend and a
MongoDB backend (PyMongo's async API). `open_store(url)` picks the backend from the URL."""
