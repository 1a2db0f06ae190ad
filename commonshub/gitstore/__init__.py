"""Git storage: the only package that imports pygit2 (a ruff rule enforces it)."""

from commonshub.gitstore.pointers import LfsPointer, format_pointer, parse_pointer
from commonshub.gitstore.store import (
    Change,
    CommitInfo,
    DeleteFolder,
    DeletePath,
    GitRepo,
    GitStore,
    MergeResult,
    PutFile,
    RefConflict,
    RefMove,
    StagedCreation,
    StagedRefMove,
    StagedRemoval,
    TreeEntry,
    default_gitattributes,
    is_valid_ref_name,
)

__all__ = [
    "Change",
    "CommitInfo",
    "DeleteFolder",
    "DeletePath",
    "GitRepo",
    "GitStore",
    "LfsPointer",
    "MergeResult",
    "PutFile",
    "RefConflict",
    "RefMove",
    "StagedCreation",
    "StagedRefMove",
    "StagedRemoval",
    "TreeEntry",
    "default_gitattributes",
    "format_pointer",
    "is_valid_ref_name",
    "parse_pointer",
]
