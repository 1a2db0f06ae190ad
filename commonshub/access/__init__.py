"""Gated repos: access requests, their handling by a repo's managers, and the access check."""
