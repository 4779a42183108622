"""The home page: the referent's worklist, the documents the user may see and the kinds they may start."""
