"""Planning AD restores from recorded history (pure: no I/O)."""
