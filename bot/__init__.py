"""The runtime: registry, configuration, reply model and the adapters (shell, Slack, IMAP)."""
