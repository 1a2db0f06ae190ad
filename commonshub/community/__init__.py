"""Discussions and pull requests (specs/hf-protocol.md §7); later likes and collections."""
