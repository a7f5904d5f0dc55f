"""Analysis: one sample's frame -> faces, participants, identities -> the session's outcome."""
