"""Per-user event history: a strictly increasing ``seq`` per event and a TTL'd replay log.

``keys`` and ``resume`` are pure (item shapes, the resume decision); ``store`` does the DynamoDB
I/O. Nothing is imported here, so importing one pure module stays cheap.
"""
