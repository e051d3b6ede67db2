"""Stock themes (package data; never edited by users: overrides live in the instance)."""
