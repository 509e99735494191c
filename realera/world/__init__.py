"""The embedded world: ten shape classes, their names and captions (`realera.world.data`), and the shipped model with its
evaluator (`realera.world.model`). Training (`realera.world.train`) is offline work and is not imported here."""
from .data import *
from .model import *
