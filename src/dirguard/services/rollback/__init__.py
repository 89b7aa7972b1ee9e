"""Rollback use cases: plans, guarded apply, elevation, undelete."""
