"""Detection and response on the captured change stream: threat definitions (built-in and site
rule files), alerts, notifications and auto-undo of protected objects."""
