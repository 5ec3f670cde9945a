"""The engine: one llama.cpp model per child process, driven over JSON lines.

See DESIGN.md, "The engine runs in its own process".
"""

from backend.engine.client import EngineClient
from backend.engine.errors import EngineCrashed, EngineError, EngineHung
from backend.engine.protocol import DEFAULT_PARAMS, Done, ModelInfo, Token, TokenBatch, TurnStats

__all__ = [
    "DEFAULT_PARAMS", "Done", "EngineClient", "EngineCrashed", "EngineError", "EngineHung", "ModelInfo", "Token",
    "TokenBatch", "TurnStats",
]
