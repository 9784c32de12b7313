"""Widgets: they render what screens give them and never fetch anything themselves."""
