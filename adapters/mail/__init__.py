"""Mail: messages from templates, sent over SMTP or written to a development outbox."""
