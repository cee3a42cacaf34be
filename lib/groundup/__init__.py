"""Ground Up: the shared library of the course."""
__version__ = "0.1.0"
