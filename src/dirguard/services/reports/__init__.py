"""Reports over a connected Entra tenant: each declared once (:mod:`.catalog`), built from Graph
reads (:mod:`.entra_reports`), run through :func:`.run.run_report` and exported as CSV or XLSX
(:mod:`.export`)."""
