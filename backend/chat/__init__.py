"""Chat turns without Qt: conversation operations on the store, reply persistence while a reply
streams, and splitting a streamed Markdown reply into blocks the window can render once."""
