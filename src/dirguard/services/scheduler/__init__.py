"""The embedded scheduler and its job kinds (``jobs.py``)."""
