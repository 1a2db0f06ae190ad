"""Xet storage: the CAS protocol, its binary formats and content-defined chunking."""
