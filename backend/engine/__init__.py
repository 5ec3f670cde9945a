"""The engine: one llama.cpp model per child process, driven over JSON lines.

See DESIGN.md, "The engine runs in its own process".
"""

from backend.engine.client import EngineClient, EngineCrashed, EngineError
from backend.engine.protocol import DEFAULT_PARAMS, Done, ModelInfo, Token, TurnStats

__all__ = [
    "DEFAULT_PARAMS", "Done", "EngineClient", "EngineCrashed", "EngineError", "ModelInfo", "Token", "TurnStats",
]
