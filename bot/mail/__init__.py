"""The IMAP email-logging worker: configuration, parsing, the IMAP session and the loop."""
