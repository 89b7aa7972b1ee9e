"""Notifications: e-mail rendered from templates and sent through Graph ``sendMail`` from the
service account's or a shared mailbox, queued in the store and retried with backoff."""
