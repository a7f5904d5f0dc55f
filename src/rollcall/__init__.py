"""rollcall: attendance and head counts with face recognition."""

__version__ = "0.1.0"
