"""Control-panel pages: thin views, each asking one room (``jobs``, ``overview``) for its data."""

from .event import EventJobsView
from .organizer import OverviewCSVView, OverviewView
from .settings import ShredderSettingsView

__all__ = ["EventJobsView", "OverviewView", "OverviewCSVView", "ShredderSettingsView"]
