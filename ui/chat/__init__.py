"""The chat page: conversation view, composer, per-conversation options, and the controller
that drives the engine for it."""
