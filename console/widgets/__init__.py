"""Dashboard widgets, one module per area of the screen."""

from .actors import ActorsPanel
from .agent import AgentPanel
from .buffers import BuffersPanel
from .curves import CurvesPanel
from .dialogs import ConfirmQuit, DetachOrStop, HelpScreen, LoadPicker
from .errors import ErrorPanel
from .event_log import EventLogPanel
from .header import StatusHeader
from .models import ModelsPanel
from .program import ProgramOutputPanel
from .trainers import TrainerCard, TrainersPanel

__all__ = [
    "ActorsPanel",
    "AgentPanel",
    "BuffersPanel",
    "ConfirmQuit",
    "CurvesPanel",
    "DetachOrStop",
    "ErrorPanel",
    "EventLogPanel",
    "HelpScreen",
    "LoadPicker",
    "ModelsPanel",
    "ProgramOutputPanel",
    "StatusHeader",
    "TrainerCard",
    "TrainersPanel",
]
