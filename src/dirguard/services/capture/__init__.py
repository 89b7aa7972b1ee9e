"""Capture use cases: snapshot, incremental capture, monitor, actor fill-in."""
