"""The dispatcher: SQS batches of domain events -> every open WebSocket of each event's user.

``parse`` and ``plan`` are pure (records -> events, status -> outcome, batch -> report);
``deliver`` does the @connections I/O; ``batch.dispatch_batch`` composes them for the handler.
Nothing is imported here, so importing one pure module stays cheap.
"""
