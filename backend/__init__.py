"""Everything that talks to, or is, an AIStore cluster."""
